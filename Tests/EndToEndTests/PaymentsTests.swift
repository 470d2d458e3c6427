import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Payments and auto top-up over the real server, against a fake Stripe speaking its wire protocol over HTTP:
/// one intent per threshold crossing however many requests race, the daily limit, retries, declines, signed
/// webhooks (good, forged, stale, replayed) and the manual provider a system administrator confirms.
@Suite struct PaymentsTests {
    /// gpt-fake at 10,000 credits per million tokens for input and output: the fake reports 11 input and 7 output
    /// tokens, so each request costs 18 × 0.01 = 0.18 credits.
    static let costPerRequest: Int64 = 180_000
    static let credit: Int64 = 1_000_000

    // MARK: Harness

    struct Env {
        let h: GatewayHarness
        let stripe: FakeStripe?
        let admin: ManagementClient
    }

    /// A server with `credits` (10) for `acme`, gpt-fake priced, holds small enough for many concurrent requests, and
    /// (unless `stripe` is false) the Stripe provider pointed at a fake.
    func withPayments(stripe useStripe: Bool = true, credits: String = "10", extra: [String: String] = [:], _ body: (Env) async throws -> Void) async throws {
        let stripe = useStripe ? try await FakeStripe.start() : nil
        var env = [
            "AIHIGRESS_BOOTSTRAP_CREDITS": credits,
            "AIHIGRESS_HOLD_OUTPUT_CAP_TOKENS": "16",
            "AIHIGRESS_PAYMENT_RETRY_BASE_MS": "50",
            "AIHIGRESS_PAYMENT_MAX_ATTEMPTS": "4",
        ]
        if let stripe {
            env["AIHIGRESS_STRIPE_SECRET_KEY"] = stripe.secretKey
            env["AIHIGRESS_STRIPE_WEBHOOK_SECRET"] = stripe.webhookSecret
            env["AIHIGRESS_STRIPE_API_BASE"] = stripe.baseURL
        }
        do {
            try await GatewayHarness.withRunning(extra: env.merging(extra) { $1 }) { h in
                let admin = try await ManagementClient.login(h.server, email: "owner@example.com", password: "password1")
                let price = try await admin.send(.PUT, "/pricing", body: [
                    "model": "gpt-fake", "input_per_million": "10000", "output_per_million": "10000",
                ])
                #expect(price.status == 200)
                try await body(Env(h: h, stripe: stripe, admin: admin))
            }
        } catch {
            await stripe?.stop()
            throw error
        }
        await stripe?.stop()
    }

    func chat(_ e: Env, on base: String? = nil) async throws -> Int {
        let (path, plain) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
        var fields = plain.objectValue ?? [:]
        fields["max_tokens"] = .int(8)
        return try await http.send(.POST, (base ?? e.h.base) + path, headers: e.h.auth, body: JSONText.render(.object(fields))).status
    }

    /// `count` requests at once (spread over `servers`, default the harness's one); all must be answered 200.
    func concurrentChats(_ e: Env, _ count: Int, servers: [String]? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let bases = servers ?? [e.h.base]
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<count { group.addTask { try await chat(e, on: bases[index % bases.count]) } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)", sourceLocation: sourceLocation)
    }

    func enableAutoTopUp(_ e: Env, threshold: String, amount: String, maxPerDay: Int) async throws {
        let reply = try await e.admin.send(.PUT, "/orgs/acme/billing/auto-topup", body: [
            "enabled": true, "threshold": threshold, "amount": amount, "max_per_day": maxPerDay,
            "customer_id": "cus_test123", "payment_method_id": "pm_card_visa",
        ])
        #expect(reply.status == 200, "\(reply.body)")
    }

    func adjust(_ e: Env, _ amount: String) async throws {
        let reply = try await e.admin.send(.POST, "/system/orgs/acme/credits", body: ["kind": "adjustment", "amount": amount, "reason": "test"])
        #expect(reply.status == 201, "\(reply.body)")
    }

    func payments(_ e: Env) async throws -> [[String: Any]] {
        try await e.admin.get("/orgs/acme/billing/payments?limit=200").json()["data"] as? [[String: Any]] ?? []
    }

    func ledger(_ e: Env, kind: String? = nil) async throws -> [[String: Any]] {
        var entries: [[String: Any]] = []
        var cursor: String?
        repeat {
            var path = "/orgs/acme/billing/ledger?limit=200"
            if let kind { path += "&kind=\(kind)" }
            if let cursor { path += "&cursor=\(cursor)" }
            let page = try await e.admin.get(path).json()
            entries += page["data"] as? [[String: Any]] ?? []
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        return entries
    }

    func balance(_ e: Env) async throws -> Int64 {
        (try await e.admin.get("/orgs/acme/billing/balance").json()["balance_micros"] as? NSNumber)?.int64Value ?? -1
    }

    func audits(_ e: Env, _ action: String) async throws -> [[String: Any]] {
        try await e.admin.get("/orgs/acme/audit-log?action=\(action)&limit=200").json()["data"] as? [[String: Any]] ?? []
    }

    func notifications(_ e: Env, kind: String) async throws -> [[String: Any]] {
        let all = try await e.admin.get("/auth/notifications?limit=200").json()["data"] as? [[String: Any]] ?? []
        return all.filter { $0["kind"] as? String == kind }
    }

    /// Polls until `condition` holds (or the deadline passes) and returns its last value.
    func eventually<T>(timeout: Duration = .seconds(10), _ probe: () async throws -> T, until condition: (T) -> Bool) async throws -> T {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let value = try await probe()
            if condition(value) || ContinuousClock.now > deadline { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Every charge settled, nothing held, and the balance equal to the ledger's sum and to `expected`.
    func assertReconciled(_ e: Env, charges: Int, expected: Int64, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        _ = try await eventually({ try await ledger(e, kind: "charge").count }, until: { $0 >= charges })
        let entries = try await ledger(e)
        let json = try await e.admin.get("/orgs/acme/billing/balance").json()
        let sum = entries.compactMap { ($0["amount_micros"] as? NSNumber)?.int64Value }.reduce(0, +)
        #expect(entries.filter { $0["kind"] as? String == "charge" }.count == charges, sourceLocation: sourceLocation)
        #expect((json["balance_micros"] as? NSNumber)?.int64Value == sum, "balance equals the ledger sum", sourceLocation: sourceLocation)
        #expect(sum == expected, "balance \(sum) expected \(expected)", sourceLocation: sourceLocation)
        #expect((json["held_micros"] as? NSNumber)?.int64Value == 0, "no hold outlives its request", sourceLocation: sourceLocation)
    }

    // MARK: Auto top-up

    @Test func autoTopUpFiresOncePerCrossingUnderConcurrency() async throws {
        try await withPayments(credits: "20") { e in
            let stripe = try #require(e.stripe)
            try await enableAutoTopUp(e, threshold: "19", amount: "20", maxPerDay: 10)
            let profile = try await e.admin.get("/orgs/acme/billing/auto-topup")
            #expect(profile.status == 200)
            let settings = try profile.json()
            #expect(settings["enabled"] as? Bool == true && settings["threshold"] as? String == "19" && settings["amount"] as? String == "20")
            #expect(settings["customer_id"] as? String == "cus_test123" && settings["payment_method_id"] as? String == "pm_card_visa")
            #expect(!profile.body.contains(stripe.secretKey) && !profile.body.contains(stripe.webhookSecret), "never secrets")
            try await Task.sleep(for: .milliseconds(300))
            #expect(stripe.intents.isEmpty, "20 credits is above the threshold: nothing bought")

            // Crossing 1: 24 requests at once take 20 credits below 19 after the sixth; the top-up lands while they run.
            try await concurrentChats(e, 24)
            let first = try await eventually({ try await payments(e) }, until: { $0.first?["status"] as? String == "succeeded" })
            try await Task.sleep(for: .milliseconds(500))
            #expect(stripe.intents.count == 1, "exactly one intent for one crossing: \(stripe.intents.count)")
            #expect(stripe.received.count == 1)
            #expect(first.count == 1)
            let payment = try #require(first.first)
            let paymentId = try #require(payment["id"] as? String)
            #expect(payment["kind"] as? String == "auto_topup" && payment["amount"] as? String == "20" && payment["provider"] as? String == "stripe")
            let intent = try #require(stripe.intents.first)
            #expect(payment["provider_payment_id"] as? String == intent.id)
            #expect(intent.amount == 2000 && intent.currency == "usd", "20 credits at 100 cents per credit")
            #expect(intent.customer == "cus_test123" && intent.paymentMethod == "pm_card_visa")
            #expect(intent.metadata["payment_id"] == paymentId)
            let received = try #require(stripe.received.first)
            #expect(received.authorization == "Bearer \(stripe.secretKey)")
            #expect(received.idempotencyKey == "aihigress-payment-\(paymentId)")
            #expect(received.form["confirm"] == "true" && received.form["off_session"] == "true")

            let topUps = try await ledger(e, kind: "top_up")
            #expect(topUps.count == 1)
            #expect((topUps.first?["amount_micros"] as? NSNumber)?.int64Value == 20 * Self.credit)
            #expect(topUps.first?["idempotency_key"] as? String == "payment:\(paymentId)")
            #expect(payment["ledger_entry_id"] as? String == topUps.first?["id"] as? String)
            try await assertReconciled(e, charges: 24, expected: 40 * Self.credit - 24 * Self.costPerRequest)
            #expect(try await audits(e, "billing.auto_topup_succeeded").count == 1)
            #expect(try await notifications(e, kind: "billing.auto_topup_succeeded").count == 1, "the owner is told")

            // Crossing 2: an adjustment takes the balance below the threshold; the next 16 racing requests buy once more.
            try await adjust(e, "-20")
            try await concurrentChats(e, 16)
            _ = try await eventually({ try await payments(e) }, until: { $0.count == 2 && $0.first?["status"] as? String == "succeeded" })
            try await Task.sleep(for: .milliseconds(500))
            #expect(stripe.intents.count == 2, "one more intent for the second crossing: \(stripe.intents.count)")
            #expect(try await ledger(e, kind: "top_up").count == 2)
            try await assertReconciled(e, charges: 40, expected: 40 * Self.credit - 40 * Self.costPerRequest)
            #expect(try await audits(e, "billing.auto_topup_succeeded").count == 2)
        }
    }

    /// Two instances on one PostgreSQL database and one Redis: requests racing on both still buy once per crossing.
    /// Two instances share state only through PostgreSQL + Redis, so the embedded pass skips this (reported as skipped).
    @Test(.enabled(if: TestEnvironment.redisURL != nil && TestEnvironment.postgresURL != nil, "needs PostgreSQL + Redis"))
    func autoTopUpFiresOncePerCrossingAcrossInstances() async throws {
        try await withPayments(credits: "20") { e in
            let stripe = try #require(e.stripe)
            let second = try await e.h.deployment.start()
            do {
                try await enableAutoTopUp(e, threshold: "19", amount: "20", maxPerDay: 10)
                try await concurrentChats(e, 24, servers: [e.h.base, second.baseURL])
                _ = try await eventually({ try await payments(e) }, until: { $0.first?["status"] as? String == "succeeded" })
                try await Task.sleep(for: .milliseconds(500))
                #expect(stripe.intents.count == 1, "one intent across both instances: \(stripe.intents.count)")
                try await assertReconciled(e, charges: 24, expected: 40 * Self.credit - 24 * Self.costPerRequest)
                // A second crossing, its requests again split over both instances.
                try await adjust(e, "-20")
                try await concurrentChats(e, 16, servers: [second.baseURL, e.h.base])
                _ = try await eventually({ try await payments(e) }, until: { $0.count == 2 && $0.first?["status"] as? String == "succeeded" })
                try await Task.sleep(for: .milliseconds(500))
                #expect(stripe.intents.count == 2)
                #expect(try await ledger(e, kind: "top_up").count == 2)
                try await assertReconciled(e, charges: 40, expected: 40 * Self.credit - 40 * Self.costPerRequest)
                #expect(try await second.stop() == 0)
            } catch {
                _ = try? await second.stop()
                throw error
            }
        }
    }

    @Test func autoTopUpRespectsTheDailyLimit() async throws {
        try await withPayments { e in
            let stripe = try #require(e.stripe)
            try await enableAutoTopUp(e, threshold: "9", amount: "5", maxPerDay: 1)
            for _ in 0..<8 { #expect(try await chat(e) == 200) }
            _ = try await eventually({ try await payments(e) }, until: { $0.first?["status"] as? String == "succeeded" })
            // The crossing's marker is cleared just after the payment is marked; give it a moment.
            try await Task.sleep(for: .milliseconds(300))
            #expect(stripe.intents.count == 1)

            // A second crossing the same day: refused by the limit, audited and notified once, nothing bought.
            try await adjust(e, "-10")
            try await concurrentChats(e, 6)
            let refused = try await eventually({ try await audits(e, "billing.auto_topup_failed") }, until: { !$0.isEmpty })
            for _ in 0..<3 { #expect(try await chat(e) == 200) }
            try await Task.sleep(for: .milliseconds(500))
            #expect(refused.count == 1)
            #expect(try await audits(e, "billing.auto_topup_failed").count == 1, "once per crossing, not per request")
            #expect(((refused.first?["details"] as? [String: Any])?["reason"] as? String)?.contains("daily limit") == true, "\(refused)")
            #expect(try await notifications(e, kind: "billing.auto_topup_failed").count == 1)
            #expect(stripe.intents.count == 1 && stripe.received.count == 1)
            #expect(try await payments(e).count == 1)
            try await assertReconciled(e, charges: 17, expected: 5 * Self.credit - 17 * Self.costPerRequest)
        }
    }

    @Test func providerErrorsAreRetriedWithTheSameIdempotencyKey() async throws {
        try await withPayments { e in
            let stripe = try #require(e.stripe)
            stripe.setBehavior(.fail(status: 500, times: 2))
            try await enableAutoTopUp(e, threshold: "9", amount: "5", maxPerDay: 10)
            try await concurrentChats(e, 8)
            let done = try await eventually({ try await payments(e) }, until: { $0.first?["status"] as? String == "succeeded" })
            #expect(done.first?["status"] as? String == "succeeded")
            #expect((done.first?["attempts"] as? NSNumber)?.intValue == 3, "two 500s, then success")
            try await Task.sleep(for: .milliseconds(300))
            #expect(stripe.received.map(\.status) == [500, 500, 200])
            #expect(Set(stripe.received.compactMap(\.idempotencyKey)).count == 1, "every attempt reuses the key")
            #expect(stripe.intents.count == 1)
            #expect(try await ledger(e, kind: "top_up").count == 1)
            try await assertReconciled(e, charges: 8, expected: 15 * Self.credit - 8 * Self.costPerRequest)

            // Errors that outlast the attempts: the payment fails after 4 calls, audited, nothing credited.
            stripe.setBehavior(.fail(status: 503, times: 100))
            try await adjust(e, "-10")
            #expect(try await chat(e) == 200)
            let failed = try await eventually({ try await payments(e) }, until: { $0.first?["status"] as? String == "failed" })
            #expect((failed.first?["attempts"] as? NSNumber)?.intValue == 4)
            #expect(stripe.received.count == 7)
            #expect(try await audits(e, "billing.auto_topup_failed").count == 1)
            #expect(try await ledger(e, kind: "top_up").count == 1)
            try await assertReconciled(e, charges: 9, expected: 5 * Self.credit - 9 * Self.costPerRequest)
        }
    }

    @Test func aDeclineIsAuditedAndNotifiedAndCreditsNothing() async throws {
        try await withPayments { e in
            let stripe = try #require(e.stripe)
            stripe.setBehavior(.decline)
            try await enableAutoTopUp(e, threshold: "9", amount: "5", maxPerDay: 10)
            try await concurrentChats(e, 8)
            let failed = try await eventually({ try await payments(e) }, until: { $0.first?["status"] as? String == "failed" })
            #expect(failed.count == 1)
            #expect((failed.first?["last_error"] as? String)?.contains("insufficient funds") == true, "\(failed)")
            #expect((failed.first?["attempts"] as? NSNumber)?.intValue == 1, "a decline is final: no retry")
            #expect(failed.first?["provider_payment_id"] as? String == stripe.intents.first?.id)
            // More charges below the threshold do not retry the card: the crossing is spent.
            for _ in 0..<3 { #expect(try await chat(e) == 200) }
            try await Task.sleep(for: .milliseconds(500))
            #expect(stripe.received.count == 1)
            #expect(try await ledger(e, kind: "top_up").isEmpty, "no credits for a declined card")
            #expect(try await audits(e, "billing.auto_topup_failed").count == 1)
            let notes = try await notifications(e, kind: "billing.auto_topup_failed")
            #expect(notes.count == 1)
            #expect((notes.first?["message"] as? String)?.contains("insufficient funds") == true)
            try await assertReconciled(e, charges: 11, expected: 10 * Self.credit - 11 * Self.costPerRequest)
        }
    }

    // MARK: Webhooks

    @Test func webhooksCreditOnceAndRefuseBadSignaturesAndStaleTimestamps() async throws {
        try await withPayments { e in
            let stripe = try #require(e.stripe)
            let hook = e.h.base + "/webhooks/stripe"
            let setup = try await e.admin.send(.PUT, "/orgs/acme/billing/auto-topup", body: [
                "customer_id": "cus_test123", "payment_method_id": "pm_card_visa",
            ])
            #expect(setup.status == 200)
            // The card is still processing: the top-up is pending until Stripe's event.
            stripe.setBehavior(.processing)
            let created = try await e.admin.send(.POST, "/orgs/acme/billing/top-ups", body: ["amount": "5"])
            #expect(created.status == 202, "\(created.body)")
            let payment = try created.json()
            let paymentId = try #require(payment["id"] as? String)
            #expect(payment["status"] as? String == "pending" && payment["kind"] as? String == "manual")
            let intentId = try #require(payment["provider_payment_id"] as? String)
            let before = try await balance(e)
            #expect(before == 10 * Self.credit)

            let intent = try #require(stripe.update(intentId, status: "succeeded"))
            let payload = stripe.event("payment_intent.succeeded", intent: intent)
            let now = Int64(Date().timeIntervalSince1970)
            // Forged, stale, missing, tampered: 400 and nothing changes.
            let refusals: [(String, String?)] = [
                (payload, stripe.signatureHeader(for: payload, secret: "whsec_someone_else")),
                (payload, stripe.signatureHeader(for: payload, timestamp: now - 600)),
                (payload, stripe.signatureHeader(for: payload, timestamp: now + 600)),
                (payload, nil),
                (payload, "t=\(now)"),
                (payload + "\n", stripe.signatureHeader(for: payload)),
            ]
            for (body, signature) in refusals {
                let reply = try await stripe.deliver(body, signature: signature, to: hook)
                #expect(reply.status == 400, "\(signature ?? "no signature"): \(reply.status) \(reply.body)")
                #expect(reply.problemType?.hasSuffix("/invalid_signature") == true, "\(reply.body)")
            }
            #expect(try await balance(e) == before)
            #expect(try await payments(e).first?["status"] as? String == "pending")

            // Good signature: credited once.
            let signature = stripe.signatureHeader(for: payload)
            let good = try await stripe.deliver(payload, signature: signature, to: hook)
            #expect(good.status == 200, "\(good.body)")
            #expect(try good.json()["result"] as? String == "credited")
            #expect(try await balance(e) == before + 5 * Self.credit)
            // Replays (the same bytes, or re-signed later) change nothing; nor does a late failure event.
            let replay = try await stripe.deliver(payload, signature: signature, to: hook)
            #expect(try replay.status == 200 && (replay.json()["result"] as? String) == "unchanged")
            let resigned = try await stripe.deliver(payload, signature: stripe.signatureHeader(for: payload, timestamp: now + 5), to: hook)
            #expect(try resigned.status == 200 && (resigned.json()["result"] as? String) == "unchanged")
            let failedLater = stripe.event("payment_intent.payment_failed", intent: intent)
            let late = try await stripe.deliver(failedLater, signature: stripe.signatureHeader(for: failedLater), to: hook)
            #expect(try late.status == 200 && (late.json()["result"] as? String) == "unchanged")
            #expect(try await balance(e) == before + 5 * Self.credit)
            let topUps = try await ledger(e, kind: "top_up")
            #expect(topUps.count == 1)
            #expect(topUps.first?["idempotency_key"] as? String == "payment:\(paymentId)")
            let listed = try await payments(e)
            #expect(listed.first?["status"] as? String == "succeeded")
            #expect(try await audits(e, "billing.payment_succeeded").count == 1)

            // Success both synchronously and by webhook: still one credit.
            stripe.setBehavior(.succeed)
            let direct = try await e.admin.send(.POST, "/orgs/acme/billing/top-ups", body: ["amount": "2.5", "idempotency_key": "order-42"])
            #expect(direct.status == 201, "\(direct.body)")
            let directJSON = try direct.json()
            #expect(directJSON["status"] as? String == "succeeded")
            let directIntent = try #require(stripe.intents.last)
            #expect(directIntent.amount == 250)
            let event = stripe.event("payment_intent.succeeded", intent: directIntent)
            let echo = try await stripe.deliver(event, signature: stripe.signatureHeader(for: event), to: hook)
            #expect(try echo.status == 200 && (echo.json()["result"] as? String) == "unchanged")
            // The same client idempotency key returns the same payment, with no second charge.
            let again = try await e.admin.send(.POST, "/orgs/acme/billing/top-ups", body: ["amount": "2.5", "idempotency_key": "order-42"])
            #expect(try again.status == 200 && (again.json()["id"] as? String) == directJSON["id"] as? String)
            #expect(stripe.intents.count == 2)
            #expect(try await ledger(e, kind: "top_up").count == 2)
            #expect(try await balance(e) == before + 7_500_000)
            // An event for no payment of ours is acknowledged and ignored.
            let stranger = stripe.event("payment_intent.succeeded", intent: FakeStripe.Intent(
                id: "pi_unknown", amount: 100, currency: "usd", customer: "cus_x", paymentMethod: "pm_x", metadata: [:], idempotencyKey: nil,
                status: "succeeded"
            ))
            let ignored = try await stripe.deliver(stranger, signature: stripe.signatureHeader(for: stranger), to: hook)
            #expect(try ignored.status == 200 && (ignored.json()["result"] as? String) == "unknown_payment")
            #expect(try await balance(e) == before + 7_500_000)
        }
    }

    // MARK: Manual provider

    @Test func manualPaymentsWaitForASystemAdministrator() async throws {
        try await withPayments(stripe: false, extra: ["AIHIGRESS_OPEN_REGISTRATION": "true"]) { e in
            let clerk = try await ManagementClient.register(e.h.server, email: "clerk@example.com")
            let added = try await e.admin.send(.POST, "/orgs/acme/members", body: ["email": "clerk@example.com", "role": "billing"])
            #expect(added.status == 201, "\(added.body)")
            let profile = try await clerk.get("/orgs/acme/billing/auto-topup").json()
            #expect(profile["provider"] as? String == "manual")
            #expect(profile["providers_available"] as? [String] == ["manual"])
            // Auto top-up needs a card provider.
            let refused = try await clerk.send(.PUT, "/orgs/acme/billing/auto-topup", body: ["enabled": true, "threshold": "5", "amount": "10"])
            #expect(refused.status == 400 && refused.problemType?.hasSuffix("/auto_topup_unavailable") == true, "\(refused.body)")

            let created = try await clerk.send(.POST, "/orgs/acme/billing/top-ups", body: ["amount": "7"])
            #expect(created.status == 202, "\(created.body)")
            let paymentId = try #require(try created.json()["id"] as? String)
            #expect(try created.json()["provider"] as? String == "manual")
            #expect(try await balance(e) == 10 * Self.credit, "pending: nothing credited yet")

            let byClerk = try await clerk.send(.POST, "/system/payments/\(paymentId)/confirm")
            #expect(byClerk.status == 403)
            let confirmed = try await e.admin.send(.POST, "/system/payments/\(paymentId)/confirm")
            #expect(confirmed.status == 200, "\(confirmed.body)")
            #expect(try confirmed.json()["applied"] as? Bool == true && (confirmed.json()["status"] as? String) == "succeeded")
            #expect(try confirmed.json()["confirmed_by"] as? String == e.admin.userId)
            let twice = try await e.admin.send(.POST, "/system/payments/\(paymentId)/confirm")
            #expect(try twice.status == 200 && (twice.json()["applied"] as? Bool) == false)
            let racing = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 { group.addTask { try await e.admin.send(.POST, "/system/payments/\(paymentId)/confirm").status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(racing.allSatisfy { $0 == 200 })
            #expect(try await balance(e) == 17 * Self.credit, "credited once")
            let topUps = try await ledger(e, kind: "top_up")
            #expect(topUps.count == 1 && topUps.first?["idempotency_key"] as? String == "payment:\(paymentId)")
            #expect(try await audits(e, "billing.payment_succeeded").count == 1)

            // A second invoice that never gets paid: cancelled, then it cannot be confirmed.
            let second = try await clerk.send(.POST, "/orgs/acme/billing/top-ups", body: ["amount": "3"])
            let secondId = try #require(try second.json()["id"] as? String)
            let cancelled = try await e.admin.send(.POST, "/system/payments/\(secondId)/cancel")
            #expect(try cancelled.status == 200 && (cancelled.json()["status"] as? String) == "cancelled")
            #expect(try await e.admin.send(.POST, "/system/payments/\(secondId)/confirm").status == 409)
            #expect(try await e.admin.send(.POST, "/system/payments/\(paymentId)/cancel").status == 409, "a succeeded payment stays")
            #expect(try await e.admin.send(.POST, "/system/payments/no-such-payment/confirm").status == 404)
            #expect(try await balance(e) == 17 * Self.credit)

            let listed = try await clerk.get("/orgs/acme/billing/payments?limit=1")
            #expect(listed.status == 200)
            let page = try listed.json()
            #expect((page["data"] as? [[String: Any]])?.first?["id"] as? String == secondId)
            let cursor = try #require(page["next_cursor"] as? String)
            let next = try await clerk.get("/orgs/acme/billing/payments?limit=1&cursor=\(cursor)").json()
            #expect((next["data"] as? [[String: Any]])?.first?["id"] as? String == paymentId)
            #expect((try await clerk.get("/orgs/acme/billing/payments?status=succeeded").json()["data"] as? [[String: Any]])?.count == 1)

            // Without Stripe configured the webhook does not exist.
            let hook = try await http.send(.POST, e.h.base + "/webhooks/stripe", headers: [("Stripe-Signature", "t=1,v1=00")], body: "{}")
            #expect(hook.status == 404)
        }
    }
}
