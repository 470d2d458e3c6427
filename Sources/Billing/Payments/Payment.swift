import Core
import SQLKit

/// One payment: money asked of a provider for credits. It starts `pending`; `succeeded` is final and credited by
/// exactly one `top_up` ledger entry (`payment:<id>`); `failed` may still turn `succeeded` when the provider
/// reports later that the money did arrive; `cancelled` is final.
public struct Payment: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable { case pending, succeeded, failed, cancelled }
    public enum Kind: String, Sendable, CaseIterable {
        case autoTopUp = "auto_topup"
        case manual
    }

    public let id: String
    public let orgId: String
    public let provider: String
    public let providerPaymentId: String?
    public let amount: Int64
    public let providerAmount: Int64?
    public let currency: String?
    public let status: Status
    public let kind: Kind
    public let attempts: Int
    public let lastError: String?
    public let requestedByKind: String
    public let requestedById: String?
    public let confirmedBy: String?
    public let ledgerEntryId: String?
    public let createdAt: Int64
    public let updatedAt: Int64

    static let columns = """
        id, org_id, provider, provider_payment_id, amount, provider_amount, currency, status, kind, attempts, last_error,
        requested_by_kind, requested_by_id, confirmed_by, ledger_entry_id, created_at, updated_at
        """

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        orgId = try row.decode(column: "org_id", as: String.self)
        provider = try row.decode(column: "provider", as: String.self)
        providerPaymentId = try row.decode(column: "provider_payment_id", as: String?.self)
        amount = try row.decode(column: "amount", as: Int64.self)
        providerAmount = try row.decode(column: "provider_amount", as: Int64?.self)
        currency = try row.decode(column: "currency", as: String?.self)
        status = Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed
        kind = Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .manual
        attempts = try row.decode(column: "attempts", as: Int.self)
        lastError = try row.decode(column: "last_error", as: String?.self)
        requestedByKind = try row.decode(column: "requested_by_kind", as: String.self)
        requestedById = try row.decode(column: "requested_by_id", as: String?.self)
        confirmedBy = try row.decode(column: "confirmed_by", as: String?.self)
        ledgerEntryId = try row.decode(column: "ledger_entry_id", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: Int64.self)
    }

    public var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            "id": .string(id), "org_id": .string(orgId), "provider": .string(provider), "provider_payment_id": text(providerPaymentId),
            "amount": .string(Credits(micros: amount).description), "amount_micros": .int(amount),
            "provider_amount": providerAmount.map(JSONValue.int) ?? .null, "currency": text(currency),
            "status": .string(status.rawValue), "kind": .string(kind.rawValue), "attempts": .int(Int64(attempts)),
            "last_error": text(lastError),
            "requested_by": .object(["kind": .string(requestedByKind), "id": text(requestedById)]),
            "confirmed_by": text(confirmedBy), "ledger_entry_id": text(ledgerEntryId),
            "created_at": .int(createdAt), "updated_at": .int(updatedAt),
        ])
    }
}

/// An organisation's payment setup: its provider, the saved customer and payment method at that provider (ids,
/// never card data or secrets), and the auto top-up rule.
public struct BillingProfile: Sendable, Equatable {
    public var provider: PaymentSettings.ProviderName
    public var customerId: String?
    public var paymentMethodId: String?
    public var autoTopUpEnabled: Bool
    /// Micro-credits: when the balance falls below this, buy `amount`.
    public var threshold: Int64
    public var amount: Int64
    public var maxPerDay: Int
    public var updatedAt: Int64?

    public init(
        provider: PaymentSettings.ProviderName, customerId: String? = nil, paymentMethodId: String? = nil, autoTopUpEnabled: Bool = false,
        threshold: Int64 = 0, amount: Int64 = 0, maxPerDay: Int = 1, updatedAt: Int64? = nil
    ) {
        self.provider = provider
        self.customerId = customerId
        self.paymentMethodId = paymentMethodId
        self.autoTopUpEnabled = autoTopUpEnabled
        self.threshold = threshold
        self.amount = amount
        self.maxPerDay = maxPerDay
        self.updatedAt = updatedAt
    }

    public func json(orgId: String, available: [PaymentSettings.ProviderName]) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            "org_id": .string(orgId), "provider": .string(provider.rawValue),
            "providers_available": .array(available.map { .string($0.rawValue) }),
            "customer_id": text(customerId), "payment_method_id": text(paymentMethodId),
            "enabled": .bool(autoTopUpEnabled),
            "threshold": .string(Credits(micros: threshold).description), "threshold_micros": .int(threshold),
            "amount": .string(Credits(micros: amount).description), "amount_micros": .int(amount),
            "max_per_day": .int(Int64(maxPerDay)), "updated_at": updatedAt.map(JSONValue.int) ?? .null,
        ])
    }
}
