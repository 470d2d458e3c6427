import Core
import Logging
import SQLKit
import Tenancy

/// Payments and their effect on the ledger. A payment that succeeds is credited through `CreditAccounts` with
/// the idempotency key `payment:<id>` first, then marked `succeeded` by a guarded update that only one caller
/// can win; the winner writes the audit entry and the owners' notification in the same transaction. So whether
/// success arrives from the provider's answer, its webhook, a system administrator, or all of them at once and
/// repeatedly, the organisation is credited exactly once — and a crash between the two steps is repaired by the
/// next report, whose credit then changes nothing.
public struct Payments: Sendable {
    public let settings: PaymentSettings
    let database: Database
    let accounts: CreditAccounts
    let logger: Logger
    private let providers: [PaymentSettings.ProviderName: any PaymentProvider]
    private let audit = AuditLog()
    private let notifications = Notifications()

    public init(database: Database, accounts: CreditAccounts, settings: PaymentSettings, logger: Logger, providers: [any PaymentProvider]? = nil) {
        self.database = database
        self.accounts = accounts
        self.settings = settings
        self.logger = logger
        var configured: [any PaymentProvider] = [ManualPaymentProvider()]
        if let stripe = settings.stripe { configured.append(StripePaymentProvider(settings: stripe)) }
        self.providers = Dictionary((providers ?? configured).map { ($0.name, $0) }) { $1 }
    }

    public func provider(_ name: PaymentSettings.ProviderName) -> (any PaymentProvider)? { providers[name] }

    /// Configured providers, Stripe first.
    public var available: [PaymentSettings.ProviderName] { PaymentSettings.ProviderName.allCases.filter { providers[$0] != nil } }

    // MARK: Profiles

    public func profile(orgId: String) async throws -> BillingProfile {
        guard let row = try await database.first(
            """
            SELECT provider, provider_customer_id, provider_payment_method_id, auto_topup_enabled, auto_topup_threshold, auto_topup_amount,
                   auto_topup_max_per_day, updated_at
            FROM billing_profiles WHERE org_id = \(bind: orgId)
            """
        ) else { return BillingProfile(provider: settings.defaultProvider) }
        return BillingProfile(
            provider: PaymentSettings.ProviderName(rawValue: try row.decode(column: "provider", as: String.self)) ?? settings.defaultProvider,
            customerId: try row.decode(column: "provider_customer_id", as: String?.self),
            paymentMethodId: try row.decode(column: "provider_payment_method_id", as: String?.self),
            autoTopUpEnabled: try row.decode(column: "auto_topup_enabled", as: Bool.self),
            threshold: try row.decode(column: "auto_topup_threshold", as: Int64.self),
            amount: try row.decode(column: "auto_topup_amount", as: Int64.self),
            maxPerDay: try row.decode(column: "auto_topup_max_per_day", as: Int.self),
            updatedAt: try row.decode(column: "updated_at", as: Int64?.self)
        )
    }

    public func saveProfile(orgId: String, _ profile: BillingProfile, actor: Actor, client: ClientInfo?) async throws {
        let audit = self.audit
        try await database.transaction { db in
            let now = EpochMillis.now()
            try await db.raw(
                """
                INSERT INTO billing_profiles (org_id, provider, provider_customer_id, provider_payment_method_id, auto_topup_enabled,
                    auto_topup_threshold, auto_topup_amount, auto_topup_max_per_day, updated_by, created_at, updated_at)
                VALUES (\(bind: orgId), \(bind: profile.provider.rawValue), \(bind: profile.customerId), \(bind: profile.paymentMethodId),
                    \(bind: profile.autoTopUpEnabled), \(bind: profile.threshold), \(bind: profile.amount), \(bind: profile.maxPerDay),
                    \(bind: actor.id), \(bind: now), \(bind: now))
                ON CONFLICT (org_id) DO UPDATE SET provider = excluded.provider, provider_customer_id = excluded.provider_customer_id,
                    provider_payment_method_id = excluded.provider_payment_method_id, auto_topup_enabled = excluded.auto_topup_enabled,
                    auto_topup_threshold = excluded.auto_topup_threshold, auto_topup_amount = excluded.auto_topup_amount,
                    auto_topup_max_per_day = excluded.auto_topup_max_per_day, updated_by = excluded.updated_by, updated_at = excluded.updated_at
                """
            ).run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "billing.auto_topup_updated", targetKind: "organization", targetId: orgId,
                      ip: client?.ip, userAgent: client?.userAgent, details: [
                        "provider": .string(profile.provider.rawValue), "enabled": .bool(profile.autoTopUpEnabled),
                        "threshold": .string(Credits(micros: profile.threshold).description),
                        "amount": .string(Credits(micros: profile.amount).description), "max_per_day": .int(Int64(profile.maxPerDay)),
                      ]),
                on: db
            )
        }
    }

    // MARK: Payments

    public func payment(id: String, orgId: String? = nil) async throws -> Payment? {
        var sql = SQLQueryString("SELECT \(unsafeRaw: Payment.columns) FROM payments WHERE id = \(bind: id)")
        if let orgId {
            sql.appendInterpolation(unsafeRaw: " AND org_id = ")
            sql.appendInterpolation(bind: orgId)
        }
        return try await database.first(sql).map(Payment.init(row:))
    }

    public func list(orgId: String, page: PageRequest, status: Payment.Status?) async throws -> (items: [JSONValue], next: String?) {
        var sql = SQLQueryString(
            "SELECT \(unsafeRaw: Payment.columns) FROM payments WHERE org_id = \(bind: orgId) AND id < \(bind: page.cursor ?? "~")"
        )
        if let status {
            sql.appendInterpolation(unsafeRaw: " AND status = ")
            sql.appendInterpolation(bind: status.rawValue)
        }
        sql.appendInterpolation(unsafeRaw: " ORDER BY id DESC LIMIT ")
        sql.appendInterpolation(bind: page.limit + 1)
        let rows = try await database.query(sql)
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        return (try cut.items.map { try Payment(row: $0).json }, cut.next)
    }

    /// Records a pending payment, or returns the one already made with the same key (`created` false). `key` is
    /// scoped to the organisation.
    public func create(
        orgId: String, amount: Credits, kind: Payment.Kind, provider: PaymentSettings.ProviderName, key: String, actor: Actor
    ) async throws -> (payment: Payment, created: Bool) {
        let units = try providers[provider]?.providerAmount(amount)
        let id = Identifier.make()
        let scopedKey = "\(orgId):\(key)"
        let now = EpochMillis.now()
        let inserted = try await database.first(
            """
            INSERT INTO payments (id, org_id, provider, amount, provider_amount, currency, status, kind, idempotency_key, attempts,
                requested_by_kind, requested_by_id, created_at, updated_at)
            VALUES (\(bind: id), \(bind: orgId), \(bind: provider.rawValue), \(bind: amount.micros), \(bind: units?.amount), \(bind: units?.currency),
                'pending', \(bind: kind.rawValue), \(bind: scopedKey), 0, \(bind: actor.kind), \(bind: actor.id), \(bind: now), \(bind: now))
            ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            """
        )
        guard let row = try await database.first(
            "SELECT \(unsafeRaw: Payment.columns) FROM payments WHERE idempotency_key = \(bind: scopedKey)"
        ) else { throw APIError.internalError }
        let payment = try Payment(row: row)
        if inserted == nil && (payment.amount != amount.micros || payment.kind != kind) {
            throw APIError.conflict("idempotency_key was already used for a different payment (\(payment.id))", code: "idempotency_key_reused")
        }
        return (payment, inserted != nil)
    }

    /// Asks the payment's provider to collect, retrying retryable errors with exponential backoff (the same
    /// idempotency key every time) up to `maxAttempts`, and completes the payment with the answer. A decline is
    /// final at once. Returns the payment as it stands afterwards.
    public func collect(_ payment: Payment, profile: BillingProfile) async -> Payment {
        guard payment.status == .pending else { return payment }
        guard let name = PaymentSettings.ProviderName(rawValue: payment.provider), let provider = providers[name] else {
            await settle { try await fail(paymentId: payment.id, providerPaymentId: nil, message: "payment provider '\(payment.provider)' is not configured") }
            return (try? await self.payment(id: payment.id)) ?? payment
        }
        let request = ChargeRequest(
            paymentId: payment.id, orgId: payment.orgId, amount: Credits(micros: payment.amount), customerId: profile.customerId,
            paymentMethodId: profile.paymentMethodId, idempotencyKey: "aihigress-payment-\(payment.id)",
            description: "AI Higress credits: \(Credits(micros: payment.amount)) (payment \(payment.id))"
        )
        var attempt = payment.attempts
        while !Task.isCancelled {
            attempt += 1
            await settle {
                try await database.execute(
                    "UPDATE payments SET attempts = attempts + 1, updated_at = \(bind: EpochMillis.now()) WHERE id = \(bind: payment.id)"
                )
            }
            let outcome: ChargeOutcome
            do {
                outcome = try await provider.charge(request)
            } catch {
                logger.warning("payment attempt failed", metadata: [
                    "payment_id": .string(payment.id), "attempt": .stringConvertible(attempt), "retryable": .stringConvertible(error.retryable),
                    "error": .string(error.message),
                ])
                if !error.retryable || attempt >= settings.maxAttempts {
                    await settle { try await fail(paymentId: payment.id, providerPaymentId: nil, message: error.message) }
                    break
                }
                await settle {
                    try await database.execute(
                        "UPDATE payments SET last_error = \(bind: String(error.message.prefix(500))) WHERE id = \(bind: payment.id) AND status = 'pending'"
                    )
                }
                let backoff = settings.retryBaseDelay * (1 << min(attempt - 1, 10))
                do { try await Task.sleep(for: backoff) } catch { break }
                continue
            }
            switch outcome {
            case .succeeded(let providerPaymentId):
                await settle { try await succeed(paymentId: payment.id, providerPaymentId: providerPaymentId, actor: .system) }
            case .pending(let providerPaymentId):
                if let providerPaymentId {
                    await settle {
                        try await database.execute(
                            """
                            UPDATE payments SET provider_payment_id = \(bind: providerPaymentId), updated_at = \(bind: EpochMillis.now())
                            WHERE id = \(bind: payment.id) AND provider_payment_id IS NULL
                            """
                        )
                    }
                }
            case .declined(let providerPaymentId, let message):
                await settle { try await fail(paymentId: payment.id, providerPaymentId: providerPaymentId, message: message) }
            }
            break
        }
        return (try? await self.payment(id: payment.id)) ?? payment
    }

    /// Credits the payment (once) and marks it succeeded. Returns whether this call made it succeed.
    @discardableResult
    public func succeed(paymentId: String, providerPaymentId: String?, actor: Actor) async throws -> Bool {
        guard let payment = try await payment(id: paymentId) else {
            throw APIError.notFound("payment '\(paymentId)' not found", code: "payment_not_found")
        }
        guard payment.status == .pending || payment.status == .failed else { return false }
        let reference = providerPaymentId ?? payment.providerPaymentId
        let posted = try await accounts.credit(
            orgId: payment.orgId, kind: .topUp, amount: Credits(micros: payment.amount),
            reason: "\(payment.kind == .autoTopUp ? "auto top-up" : "top-up"): payment \(payment.id) via \(payment.provider)"
                + (reference.map { " (\($0))" } ?? ""),
            idempotencyKey: "payment:\(payment.id)", actor: actor
        )
        let (audit, notifications) = (self.audit, self.notifications)
        return try await database.transaction { db in
            let changed = try await Self.transition(
                payment.id, from: [.pending, .failed], providerPaymentId: providerPaymentId,
                set: """
                    status = 'succeeded', ledger_entry_id = \(bind: posted.entryId), last_error = NULL,
                    confirmed_by = \(bind: actor.kind == "user" ? actor.id : nil), updated_at = \(bind: EpochMillis.now())
                    """,
                on: db
            )
            guard changed else { return false }
            let amount = Credits(micros: payment.amount)
            let balance = Credits(micros: try await CreditLedger().balance(orgId: payment.orgId, on: db).balance)
            let action = payment.kind == .autoTopUp ? "billing.auto_topup_succeeded" : "billing.payment_succeeded"
            let details: [String: JSONValue] = [
                "amount": .string(amount.description), "provider": .string(payment.provider), "payment_id": .string(payment.id),
                "provider_payment_id": reference.map(JSONValue.string) ?? .null, "ledger_entry_id": .string(posted.entryId),
            ]
            try await audit.append(
                .init(orgId: payment.orgId, actor: actor, action: action, targetKind: "payment", targetId: payment.id, details: details), on: db
            )
            try await Self.notifyOwners(
                orgId: payment.orgId, kind: action, message: "\(payment.kind == .autoTopUp ? "Auto top-up" : "Top-up") of \(amount) credits succeeded; the balance is now \(balance).",
                details: details, notifications: notifications, on: db
            )
            return true
        }
    }

    /// Marks a pending payment failed (or cancelled). Returns whether this call changed it.
    @discardableResult
    public func fail(paymentId: String, providerPaymentId: String?, message: String, status: Payment.Status = .failed, actor: Actor = .system) async throws -> Bool {
        guard let payment = try await payment(id: paymentId) else {
            throw APIError.notFound("payment '\(paymentId)' not found", code: "payment_not_found")
        }
        let (audit, notifications) = (self.audit, self.notifications)
        let reason = String(message.prefix(500))
        return try await database.transaction { db in
            let changed = try await Self.transition(
                payment.id, from: [.pending], providerPaymentId: payment.providerPaymentId == nil ? providerPaymentId : nil,
                set: "status = \(bind: status.rawValue), last_error = \(bind: reason), updated_at = \(bind: EpochMillis.now())", on: db
            )
            guard changed else { return false }
            let amount = Credits(micros: payment.amount)
            let action = payment.kind == .autoTopUp ? "billing.auto_topup_failed" : "billing.payment_\(status.rawValue)"
            let details: [String: JSONValue] = [
                "amount": .string(amount.description), "provider": .string(payment.provider), "payment_id": .string(payment.id),
                "provider_payment_id": (providerPaymentId ?? payment.providerPaymentId).map(JSONValue.string) ?? .null, "reason": .string(reason),
            ]
            try await audit.append(
                .init(orgId: payment.orgId, actor: actor, action: action, targetKind: "payment", targetId: payment.id, details: details), on: db
            )
            try await Self.notifyOwners(
                orgId: payment.orgId, kind: action,
                message: "\(payment.kind == .autoTopUp ? "Auto top-up" : "Top-up") of \(amount) credits \(status == .cancelled ? "was cancelled" : "failed"): \(reason)",
                details: details, notifications: notifications, on: db
            )
            return true
        }
    }

    /// Applies `assignments` (and the provider's payment id, when given) to a payment that is in one of `statuses`;
    /// true when this statement changed it, so concurrent confirmations or failures act once.
    private static func transition(
        _ paymentId: String, from statuses: [Payment.Status], providerPaymentId: String?, set assignments: SQLQueryString, on db: any SQLDatabase
    ) async throws -> Bool {
        var sql = "UPDATE payments SET " + assignments
        if let providerPaymentId { sql += ", provider_payment_id = \(bind: providerPaymentId)" }
        let allowed = statuses.map { status -> SQLQueryString in "\(bind: status.rawValue)" }.joined(separator: ", ")
        sql += " WHERE id = \(bind: paymentId) AND status IN (" + allowed + ") RETURNING id"
        return try await db.raw(sql).first() != nil
    }

    /// The balance right after a ledger entry was posted.
    func balanceAfter(entryId: String, orgId: String) async throws -> Int64? {
        try await database.first(
            "SELECT balance_after FROM ledger_entries WHERE id = \(bind: entryId) AND org_id = \(bind: orgId)"
        )?.decode(column: "balance_after", as: Int64.self)
    }

    /// An auto top-up that could not even be attempted (daily limit reached): audited and notified like a failure.
    func autoTopUpRefused(orgId: String, reason: String, details: [String: JSONValue]) async throws {
        let (audit, notifications) = (self.audit, self.notifications)
        var details = details
        details["reason"] = .string(reason)
        let frozen = details
        try await database.transaction { db in
            try await audit.append(
                .init(orgId: orgId, actor: .system, action: "billing.auto_topup_failed", targetKind: "organization", targetId: orgId, details: frozen),
                on: db
            )
            try await Self.notifyOwners(
                orgId: orgId, kind: "billing.auto_topup_failed", message: "Auto top-up did not run: \(reason)", details: frozen,
                notifications: notifications, on: db
            )
        }
    }

    static func notifyOwners(
        orgId: String, kind: String, message: String, details: [String: JSONValue], notifications: Notifications, on db: any SQLDatabase
    ) async throws {
        let owners = try await db.raw("SELECT user_id FROM memberships WHERE org_id = \(bind: orgId) AND role = 'owner'").all()
        for owner in owners {
            try await notifications.notify(
                userId: try owner.decode(column: "user_id", as: String.self), orgId: orgId, kind: kind, message: message, details: details, on: db
            )
        }
    }

    /// Runs a database step whose failure must not stop the caller: it is logged (the next report repairs it).
    private func settle(_ step: () async throws -> Void) async {
        do { try await step() } catch { logger.error("payment bookkeeping failed", metadata: ["error": "\(error)"]) }
    }

    // MARK: Stripe webhooks

    /// Applies a verified Stripe event. PaymentIntent events find their payment by `metadata.payment_id` (or the
    /// intent id); an amount or currency that differs from what was asked is refused, never credited.
    public func applyStripeEvent(_ event: JSONValue) async throws -> String {
        guard let type = event["type"]?.stringValue, let intent = event["data"]?["object"], let intentId = intent["id"]?.stringValue else {
            return "ignored"
        }
        guard ["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"].contains(type) else { return "ignored" }
        let found: Payment?
        if let paymentId = intent["metadata"]?["payment_id"]?.stringValue {
            found = try await database.first(
                "SELECT \(unsafeRaw: Payment.columns) FROM payments WHERE id = \(bind: paymentId) AND provider = 'stripe'"
            ).map(Payment.init(row:))
        } else {
            found = try await database.first(
                "SELECT \(unsafeRaw: Payment.columns) FROM payments WHERE provider = 'stripe' AND provider_payment_id = \(bind: intentId)"
            ).map(Payment.init(row:))
        }
        guard let payment = found else { return "unknown_payment" }
        if let known = payment.providerPaymentId, known != intentId {
            logger.error("Stripe event names another PaymentIntent than the payment's", metadata: ["payment_id": .string(payment.id)])
            return "ignored"
        }
        guard intent["amount"]?.intValue == payment.providerAmount, intent["currency"]?.stringValue?.lowercased() == payment.currency else {
            logger.error("Stripe event amount or currency differs from the payment; not applied", metadata: ["payment_id": .string(payment.id)])
            return "amount_mismatch"
        }
        switch type {
        case "payment_intent.succeeded":
            return try await succeed(paymentId: payment.id, providerPaymentId: intentId, actor: .system) ? "credited" : "unchanged"
        case "payment_intent.payment_failed":
            let message = intent["last_payment_error"]?["message"]?.stringValue ?? "the payment failed"
            return try await fail(paymentId: payment.id, providerPaymentId: intentId, message: message) ? "failed" : "unchanged"
        default:
            return try await fail(paymentId: payment.id, providerPaymentId: intentId, message: "canceled at Stripe", status: .cancelled)
                ? "cancelled" : "unchanged"
        }
    }
}
