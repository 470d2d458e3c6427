import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Charging over the real server: every way a request can end is charged as specified, exactly once, and the
/// balance always equals the ledger.
@Suite struct BillingFlowTests {
    /// gpt-fake at 1,000 / 500 (cached) / 2,000 credits per million tokens: the fake reports 11 input (3 cached)
    /// and 7 output tokens, so a completed request costs 8×1000 + 3×500 + 7×2000 micro-credits.
    static let exactCost: Int64 = 8 * 1000 + 3 * 500 + 7 * 2000

    func admin(_ h: GatewayHarness) async throws -> ManagementClient {
        try await ManagementClient.login(h.server, email: "owner@example.com", password: "password1")
    }

    func setGptFakePrice(_ h: GatewayHarness) async throws {
        let reply = try await admin(h).send(.PUT, "/pricing", body: [
            "model": "gpt-fake", "input_per_million": "1000", "cached_input_per_million": "500", "output_per_million": "2000",
        ])
        #expect(reply.status == 200)
    }

    func post(_ h: GatewayHarness, _ path: String, _ body: JSONValue) async throws -> HTTPTestClient.Reply {
        try await http.send(.POST, h.base + path, headers: h.auth, body: JSONText.render(body))
    }

    /// Charges by client request id, once settlement has happened (it follows a stream's last byte).
    func charges(_ h: GatewayHarness, expecting count: Int) async throws -> [[String: Any]] {
        let client = try await admin(h)
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while true {
            let reply = try await client.get("/orgs/acme/billing/ledger?kind=charge&limit=200")
            let entries = try reply.json()["data"] as? [[String: Any]] ?? []
            if entries.count >= count || ContinuousClock.now > deadline { return entries }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func assertReconciled(_ h: GatewayHarness, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let client = try await admin(h)
        let balance = try await client.get("/orgs/acme/billing/balance").json()
        var entries: [[String: Any]] = []
        var cursor: String?
        repeat {
            let page = try await client.get("/orgs/acme/billing/ledger?limit=200" + (cursor.map { "&cursor=\($0)" } ?? "")).json()
            entries += page["data"] as? [[String: Any]] ?? []
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        let sum = entries.compactMap { ($0["amount_micros"] as? NSNumber)?.int64Value }.reduce(0, +)
        #expect((balance["balance_micros"] as? NSNumber)?.int64Value == sum, "balance equals the ledger sum", sourceLocation: sourceLocation)
        #expect((balance["held_micros"] as? NSNumber)?.int64Value == 0, "no hold outlives its request", sourceLocation: sourceLocation)
        #expect(!entries.contains { $0["kind"] as? String == "hold" }, "holds are not ledger entries", sourceLocation: sourceLocation)
    }

    @Test func everyStreamEndingIsChargedAsSpecifiedAndOnce() async throws {
        try await GatewayHarness.withRunning { h in
            try await setGptFakePrice(h)
            // 1. Completed, non-streaming and streaming: the provider's usage, exactly.
            let (path, plain) = Ingress.chat.request(model: "gpt-fake", prompt: "hello", stream: false)
            #expect(try await post(h, path, plain).status == 200)
            let (_, streamed) = Ingress.chat.request(model: "gpt-fake", prompt: "hello", stream: true)
            #expect(try await post(h, path, streamed).status == 200)
            var entries = try await charges(h, expecting: 2)
            #expect(entries.count == 2)
            for entry in entries {
                #expect((entry["amount_micros"] as? NSNumber)?.int64Value == -Self.exactCost)
                let usage = entry["usage"] as? [String: Any]
                #expect(usage?["estimated"] as? Bool == false)
                #expect((usage?["cached_input_tokens"] as? NSNumber)?.intValue == 3)
                #expect(entry["model"] as? String == "gpt-fake")
            }

            // 2. The upstream fails before the first byte: nothing produced, nothing charged.
            h.openai.setBehavior(.fail(status: 500))
            #expect(try await post(h, path, streamed).status == 502)
            #expect(try await post(h, path, plain).status == 502)

            // 3. The upstream cuts the stream: the prompt and the output streamed so far, marked estimated.
            h.openai.setBehavior(.cutStream(afterFrames: 2))
            let cut = try await post(h, path, streamed)
            #expect(cut.status == 200)
            entries = try await charges(h, expecting: 3)
            #expect(entries.count == 3)
            let cutCharge = try #require(entries.first)
            #expect((cutCharge["usage"] as? [String: Any])?["estimated"] as? Bool == true)
            #expect(cutCharge["reason"] as? String == "upstream_cut")
            let cutAmount = -((cutCharge["amount_micros"] as? NSNumber)?.int64Value ?? 0)
            #expect(cutAmount > 0)

            // 4. The client goes away mid-stream: charged for the prompt and what was streamed.
            h.openai.setBehavior(.slowStream(interval: .milliseconds(50), frames: 200))
            _ = try StreamPeek.readThenDisconnect(port: h.server.port, path: path, key: h.key, body: JSONText.render(streamed))
            entries = try await charges(h, expecting: 4)
            #expect(entries.count == 4)
            #expect(entries.first?["reason"] as? String == "client_disconnected")
            #expect((entries.first?["usage"] as? [String: Any])?["estimated"] as? Bool == true)
            #expect(((entries.first?["amount_micros"] as? NSNumber)?.int64Value ?? 0) < 0)

            // Every request id was charged at most once, and the books balance.
            let requestIds = entries.compactMap { $0["request_id"] as? String }
            #expect(Set(requestIds).count == requestIds.count)
            h.openai.setBehavior(.normal)
            try await assertReconciled(h)
        }
    }

    /// An upstream that reports no usage does not make the request free: forwarded (chat to OpenAI) or translated
    /// (Messages to OpenAI), the charge is estimated from the prompt and the answer.
    @Test func anAnswerWithoutUsageIsChargedAsEstimated() async throws {
        try await GatewayHarness.withRunning { h in
            try await setGptFakePrice(h)
            h.openai.setBehavior(.withoutUsage)
            for ingress in [Ingress.chat, .messages] {
                let (path, body) = ingress.request(model: "gpt-fake", prompt: "hello", stream: false)
                #expect(try await post(h, path, body).status == 200, "\(ingress)")
            }
            let entries = try await charges(h, expecting: 2)
            #expect(entries.count == 2)
            for entry in entries {
                #expect((entry["usage"] as? [String: Any])?["estimated"] as? Bool == true)
                #expect(((entry["amount_micros"] as? NSNumber)?.int64Value ?? 0) < 0)
            }
            h.openai.setBehavior(.normal)
            try await assertReconciled(h)
        }
    }

    @Test func insufficientCreditsAnswer402InEachIngressShape() async throws {
        try await GatewayHarness.withRunning(extra: ["AIHIGRESS_BOOTSTRAP_CREDITS": "0"]) { h in
            for ingress in Ingress.allCases {
                let model = ingress == .gemini ? "gemini-fake" : ingress == .messages ? "claude-fake" : "gpt-fake"
                let (path, body) = ingress.request(model: model, prompt: "hi", stream: false)
                let reply = try await post(h, path, body)
                #expect(reply.status == 402, "\(ingress)")
                let json = try reply.json()
                switch ingress {
                case .chat, .responses:
                    let error = json["error"] as? [String: Any]
                    #expect(error?["type"] as? String == "insufficient_quota", "\(ingress)")
                    #expect(error?["code"] as? String == "insufficient_quota")
                case .messages:
                    #expect(json["type"] as? String == "error")
                    #expect((json["error"] as? [String: Any])?["type"] as? String == "billing_error")
                case .gemini:
                    #expect((json["error"] as? [String: Any])?["status"] as? String == "RESOURCE_EXHAUSTED")
                }
            }
            #expect(h.openai.completions.isEmpty && h.anthropic.completions.isEmpty && h.gemini.completions.isEmpty,
                    "nothing reaches a provider without credits")
            // A grant makes the same request go through.
            let grant = try await admin(h).send(.POST, "/system/orgs/acme/credits", body: ["amount": "1", "reason": "test top-up"])
            #expect(grant.status == 201)
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
            #expect(try await post(h, path, body).status == 200)
            try await assertReconciled(h)
        }
    }

    @Test func unpricedModelsAreRefusedNotFree() async throws {
        try await GatewayHarness.withRunning(extra: ["AIHIGRESS_UNPRICED_MODELS": "refuse"]) { h in
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
            let refused = try await post(h, path, body)
            #expect(refused.status == 403)
            #expect((try refused.json()["error"] as? [String: Any])?["code"] as? String == "model_not_priced")
            #expect(h.openai.completions.isEmpty)
            try await setGptFakePrice(h)
            #expect(try await post(h, path, body).status == 200)
            let entries = try await charges(h, expecting: 1)
            #expect((entries.first?["amount_micros"] as? NSNumber)?.int64Value == -Self.exactCost)
        }
    }

    @Test func aProviderBillingFactorMultipliesItsPrices() async throws {
        try await GatewayHarness.withRunning(extra: ["LLM_PROVIDER_oa_BILLING_FACTOR": "1.5"]) { h in
            try await setGptFakePrice(h)
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
            #expect(try await post(h, path, body).status == 200)
            let entries = try await charges(h, expecting: 1)
            #expect((entries.first?["amount_micros"] as? NSNumber)?.int64Value == -(Self.exactCost * 3 / 2))
        }
    }

    @Test func concurrentRequestsCannotOverspend() async throws {
        // 5 credits; each request may cost up to (prompt + 1,000 output tokens at 2,000 per million) ≈ 2.03 credits,
        // so about two fit at a time while the slow upstream keeps them all in flight.
        try await GatewayHarness.withRunning(extra: ["AIHIGRESS_BOOTSTRAP_CREDITS": "5"]) { h in
            try await setGptFakePrice(h)
            h.openai.setBehavior(.delayHead(.seconds(2)))
            let (path, plain) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
            var fields = plain.objectValue ?? [:]
            fields["max_tokens"] = .int(1000)
            let body = JSONValue.object(fields)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await post(h, path, body).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let accepted = statuses.filter { $0 == 200 }.count
            #expect(accepted > 0 && accepted < 20, "some fit, some do not: \(statuses)")
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 402 })
            _ = try await charges(h, expecting: accepted)
            let balance = try await admin(h).get("/orgs/acme/billing/balance").json()
            #expect(((balance["balance_micros"] as? NSNumber)?.int64Value ?? -1) >= 0, "never below zero")
            try await assertReconciled(h)
        }
    }
}
