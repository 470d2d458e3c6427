import Core
import Foundation
import HTTPTypes
import Hummingbird
import Tenancy

/// `/orgs/{org}/billing/auto-topup`, `/orgs/{org}/billing/top-ups`, `/orgs/{org}/billing/payments`,
/// `/system/payments/{payment}/confirm|cancel` and the Stripe webhook `/webhooks/stripe`.
public struct PaymentRoutes: Sendable {
    private let billing: BillingService
    private var service: PaymentService { billing.payments }
    private var payments: Payments { billing.payments.payments }

    public init(billing: BillingService) {
        self.billing = billing
    }

    static let maxWebhookBytes = 1024 * 1024

    public func register(on api: ManagementRouter) {
        let tag = "billing"
        api.add(.get, "/orgs/{org}/billing/auto-topup", access: .org(.billingView), tag: tag,
                summary: "Auto top-up rule and the saved payment method ids (never secrets)") { call in
            let org = try call.organization().org
            let profile = try await payments.profile(orgId: org.id)
            return JSONResponse.make(profile.json(orgId: org.id, available: payments.available))
        }
        api.add(.put, "/orgs/{org}/billing/auto-topup", access: .org(.billingManage), tag: tag,
                summary: "Set the payment provider, saved customer/payment method and the auto top-up rule (fields left out keep their value)",
                body: Self.autoTopUpSchema) { call in
            var call = call
            let body = try await call.body()
            let org = try call.organization().org
            let current = try await payments.profile(orgId: org.id)
            let profile = try readProfile(body, current: current)
            try await payments.saveProfile(orgId: org.id, profile, actor: call.actor, client: call.client)
            service.autoTopUp.ruleChanged(orgId: org.id)
            return JSONResponse.make(profile.json(orgId: org.id, available: payments.available))
        }
        api.add(.post, "/orgs/{org}/billing/top-ups", access: .org(.billingManage), tag: tag,
                summary: "Buy credits through the organisation's payment provider (Stripe charge, or a pending manual payment)",
                body: Self.topUpSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            let org = try call.organization().org
            guard let amount = Credits(parsing: try body.requiredString("amount")), amount > .zero,
                amount <= Credits(micros: Self.maxAmountCredits * Credits.microPerCredit)
            else {
                throw APIError.badRequest("amount must be a positive decimal number of credits up to \(Self.maxAmountCredits)", param: "amount")
            }
            let key = try body.string("idempotency_key") ?? "manual:\(Identifier.make())"
            guard (1...200).contains(key.utf8.count) else { throw APIError.badRequest("idempotency_key must be 1-200 bytes", param: "idempotency_key") }
            let profile = try await payments.profile(orgId: org.id)
            guard let provider = payments.provider(profile.provider) else {
                throw APIError.conflict("payment provider '\(profile.provider.rawValue)' is not configured on this server", code: "payment_provider_unavailable")
            }
            if provider.needsPaymentMethod && (profile.customerId == nil || profile.paymentMethodId == nil) {
                throw APIError.conflict(
                    "save a customer_id and payment_method_id first (PUT /orgs/{org}/billing/auto-topup)", code: "payment_method_missing"
                )
            }
            let (payment, created) = try await payments.create(
                orgId: org.id, amount: amount, kind: .manual, provider: profile.provider, key: "manual:\(key)", actor: call.actor
            )
            let done = created ? await payments.collect(payment, profile: profile) : payment
            if done.status == .failed && created {
                throw APIError(
                    HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), .insufficientQuota,
                    "payment \(done.id) failed: \(done.lastError ?? "refused by the provider")", code: "payment_failed"
                )
            }
            let status: HTTPResponse.Status = !created ? .ok : done.status == .pending ? .accepted : .created
            return JSONResponse.make(done.json, status: status)
        }
        api.add(.get, "/orgs/{org}/billing/payments", access: .org(.billingView), tag: tag,
                summary: "Payments, newest first (filter: status; cursor pagination)") { call in
            let org = try call.organization().org
            let page = try PageRequest(call)
            var status: Payment.Status?
            if let text = call.query("status") {
                guard let parsed = Payment.Status(rawValue: text) else {
                    throw APIError.badRequest("status must be one of \(Payment.Status.allCases.map(\.rawValue).joined(separator: ", "))", param: "status")
                }
                status = parsed
            }
            let listed = try await payments.list(orgId: org.id, page: page, status: status)
            return JSONResponse.page(listed.items, nextCursor: listed.next)
        }
        api.add(.post, "/system/payments/{payment}/confirm", access: .system, tag: "system",
                summary: "Confirm a manual payment: the money arrived, credit it (idempotent)") { call in
            let payment = try await manualPayment(call)
            guard payment.status != .cancelled else {
                throw APIError.conflict("payment \(payment.id) was cancelled", code: "payment_cancelled")
            }
            let applied = try await payments.succeed(paymentId: payment.id, providerPaymentId: nil, actor: call.actor)
            return try await answer(payment.id, applied: applied)
        }
        api.add(.post, "/system/payments/{payment}/cancel", access: .system, tag: "system",
                summary: "Cancel a pending manual payment (the money never arrived)") { call in
            let payment = try await manualPayment(call)
            guard payment.status == .pending || payment.status == .cancelled else {
                throw APIError.conflict("payment \(payment.id) is \(payment.status.rawValue), not pending", code: "payment_not_pending")
            }
            let applied = try await payments.fail(
                paymentId: payment.id, providerPaymentId: nil, message: "cancelled by a system administrator", status: .cancelled, actor: call.actor
            )
            return try await answer(payment.id, applied: applied)
        }
        api.add(.post, "/webhooks/stripe", access: .anyone, tag: "webhooks",
                summary: "Stripe events (Stripe-Signature verified over the raw body before anything is parsed)") { call in
            guard let stripe = service.settings.stripe else {
                throw APIError.notFound("Stripe is not configured on this server", code: "stripe_not_configured")
            }
            let request = call.request
            let raw: ByteBuffer
            do {
                raw = try await request.body.collect(upTo: Self.maxWebhookBytes)
            } catch {
                throw APIError.payloadTooLarge(limit: Self.maxWebhookBytes)
            }
            let bytes = raw.readableBytesView
            do {
                try StripeSignature.verify(
                    payload: bytes, header: request.headers[HTTPField.Name("Stripe-Signature")!], secret: stripe.webhookSecret,
                    tolerance: stripe.webhookTolerance
                )
            } catch {
                throw APIError.badRequest("webhook signature rejected: \(error)", code: "invalid_signature")
            }
            let event = try JSONText.parse(bytes)
            let result = try await payments.applyStripeEvent(event)
            return JSONResponse.object(["received": .bool(true), "result": .string(result)])
        }
    }

    static let maxAmountCredits: Int64 = 1_000_000

    /// A payment by id for the system routes; only manual payments are confirmed or cancelled by hand.
    private func manualPayment(_ call: ManagementCall) async throws -> Payment {
        let id = try call.parameter("payment")
        guard id.utf8.count <= 64, let payment = try await payments.payment(id: id) else {
            throw APIError.notFound("payment '\(id)' not found", code: "payment_not_found")
        }
        guard payment.provider == PaymentSettings.ProviderName.manual.rawValue else {
            throw APIError.conflict("payment \(payment.id) is a \(payment.provider) payment; its provider reports its outcome", code: "not_a_manual_payment")
        }
        return payment
    }

    /// A confirmed or cancelled payment as it stands now, with whether this call changed it.
    private func answer(_ paymentId: String, applied: Bool) async throws -> Response {
        guard let now = try await payments.payment(id: paymentId) else { throw APIError.internalError }
        var json = now.json.objectValue ?? [:]
        json["applied"] = .bool(applied)
        return JSONResponse.object(json)
    }

    /// Applies a PUT body over the current profile and checks the result.
    private func readProfile(_ body: Fields, current: BillingProfile) throws -> BillingProfile {
        var profile = current
        if let text = try body.string("provider") {
            guard let name = PaymentSettings.ProviderName(rawValue: text), payments.provider(name) != nil else {
                throw APIError.badRequest(
                    "provider must be one of \(payments.available.map(\.rawValue).joined(separator: ", "))", param: "provider"
                )
            }
            profile.provider = name
        }
        func providerId(_ field: String) throws -> String?? {
            guard body.has(field) else { return .none }
            if case .null = try body.required(field) { return .some(nil) }
            let value = try body.requiredString(field)
            guard (1...255).contains(value.utf8.count),
                value.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D })
            else { throw APIError.badRequest("\(field) must be 1-255 letters, digits, '_' or '-'", param: field) }
            return .some(value)
        }
        if let value = try providerId("customer_id") { profile.customerId = value }
        if let value = try providerId("payment_method_id") { profile.paymentMethodId = value }
        if let enabled = try body.bool("enabled") { profile.autoTopUpEnabled = enabled }
        if let text = try body.string("threshold") {
            guard let threshold = Credits(parsing: text), threshold >= .zero else {
                throw APIError.badRequest("threshold must be a non-negative decimal number of credits, as a string", param: "threshold")
            }
            profile.threshold = threshold.micros
        }
        if let text = try body.string("amount") {
            guard let amount = Credits(parsing: text), amount > .zero, amount <= Credits(micros: Self.maxAmountCredits * Credits.microPerCredit) else {
                throw APIError.badRequest("amount must be a positive decimal number of credits up to \(Self.maxAmountCredits), as a string", param: "amount")
            }
            profile.amount = amount.micros
        }
        if let perDay = try body.int("max_per_day") {
            guard (1...100).contains(perDay) else { throw APIError.badRequest("max_per_day must be an integer from 1 to 100", param: "max_per_day") }
            profile.maxPerDay = perDay
        }
        if profile.autoTopUpEnabled {
            guard let provider = payments.provider(profile.provider), provider.name == .stripe else {
                throw APIError.badRequest("auto top-up needs the stripe provider (a saved card is charged off-session)", param: "provider",
                                          code: "auto_topup_unavailable")
            }
            guard profile.customerId != nil, profile.paymentMethodId != nil else {
                throw APIError.badRequest("auto top-up needs customer_id and payment_method_id", param: "payment_method_id", code: "payment_method_missing")
            }
            guard profile.amount > 0 else { throw APIError.badRequest("auto top-up needs an amount", param: "amount") }
            _ = try provider.providerAmount(Credits(micros: profile.amount))
        }
        return profile
    }

    static let autoTopUpSchema = Schemas.object([
        "enabled": Schemas.boolean, "threshold": Schemas.string, "amount": Schemas.string, "max_per_day": Schemas.integer,
        "provider": Schemas.string, "customer_id": Schemas.string, "payment_method_id": Schemas.string,
    ])
    static let topUpSchema = Schemas.object(required: ["amount"], ["amount": Schemas.string, "idempotency_key": Schemas.string])
}
