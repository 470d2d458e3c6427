import Core

/// What a payment provider is asked to collect for one payment.
public struct ChargeRequest: Sendable {
    public let paymentId: String
    public let orgId: String
    public let amount: Credits
    public let customerId: String?
    public let paymentMethodId: String?
    /// The same for every attempt of one payment, so a provider that already collected answers with that
    /// collection instead of collecting again.
    public let idempotencyKey: String
    public let description: String

    public init(
        paymentId: String, orgId: String, amount: Credits, customerId: String?, paymentMethodId: String?, idempotencyKey: String,
        description: String
    ) {
        self.paymentId = paymentId
        self.orgId = orgId
        self.amount = amount
        self.customerId = customerId
        self.paymentMethodId = paymentMethodId
        self.idempotencyKey = idempotencyKey
        self.description = description
    }
}

/// How a provider answered a charge.
public enum ChargeOutcome: Sendable, Equatable {
    /// The money was collected.
    case succeeded(providerPaymentId: String?)
    /// Accepted but not final (processing, or an invoice awaiting a system administrator): a webhook or a
    /// confirmation completes it.
    case pending(providerPaymentId: String?)
    /// Refused for good (card declined, authentication required): never retried.
    case declined(providerPaymentId: String?, message: String)
}

/// A charge that did not get an answer: `retryable` when repeating the same call (same idempotency key) may
/// succeed — the provider unreachable, 5xx, 429, a concurrent request with the same key.
public struct PaymentProviderError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let retryable: Bool

    public init(_ message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }

    public var description: String { message }
}

/// Where money for top-ups comes from. Implementations: `StripePaymentProvider` (a saved customer and payment
/// method, charged off-session; webhooks complete what is still processing) and `ManualPaymentProvider`
/// (an invoice a system administrator confirms).
public protocol PaymentProvider: Sendable {
    var name: PaymentSettings.ProviderName { get }
    /// Whether a charge needs the organisation's saved customer and payment method.
    var needsPaymentMethod: Bool { get }
    /// The amount in the provider's currency units, or nil when the provider moves no money itself. Throws a 400
    /// for an amount it cannot express.
    func providerAmount(_ amount: Credits) throws(APIError) -> (amount: Int64, currency: String)?
    func charge(_ request: ChargeRequest) async throws(PaymentProviderError) -> ChargeOutcome
}

/// Manual payments (bank transfer, invoice): the charge only records a pending payment; a system administrator
/// confirms it (`POST /system/payments/{payment}/confirm`) when the money has arrived, which credits it.
public struct ManualPaymentProvider: PaymentProvider {
    public init() {}

    public var name: PaymentSettings.ProviderName { .manual }
    public var needsPaymentMethod: Bool { false }

    public func providerAmount(_ amount: Credits) throws(APIError) -> (amount: Int64, currency: String)? { nil }

    public func charge(_ request: ChargeRequest) async throws(PaymentProviderError) -> ChargeOutcome {
        .pending(providerPaymentId: nil)
    }
}
