import Foundation

/// The Stripe-compatible payment provider (`AIHIGRESS_STRIPE_*`). Enabled only when the secret key is set. The
/// secret key and webhook secret live only in memory and are never part of any description.
public struct StripeSettings: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var secretKey: String
    public var webhookSecret: String
    /// Base URL of the API (`https://api.stripe.com`); a Stripe-compatible server or a test double may stand in.
    public var apiBase: String
    /// ISO currency code, lowercase (`usd`).
    public var currency: String
    /// How many of the currency's smallest units (cents) one credit costs. An amount of credits must convert to
    /// a whole number of cents.
    public var centsPerCredit: Int64
    /// How far a webhook's signed timestamp may be from now, either way.
    public var webhookTolerance: Duration
    public var requestTimeout: Duration

    public init(
        secretKey: String, webhookSecret: String, apiBase: String = "https://api.stripe.com", currency: String = "usd",
        centsPerCredit: Int64 = 100, webhookTolerance: Duration = .seconds(300), requestTimeout: Duration = .seconds(30)
    ) {
        self.secretKey = secretKey
        self.webhookSecret = webhookSecret
        self.apiBase = apiBase
        self.currency = currency
        self.centsPerCredit = centsPerCredit
        self.webhookTolerance = webhookTolerance
        self.requestTimeout = requestTimeout
    }

    public var description: String {
        "Stripe(api_base: \(apiBase), currency: \(currency), cents_per_credit: \(centsPerCredit), secret_key: <redacted>, webhook_secret: <redacted>)"
    }
    public var debugDescription: String { description }
}

/// Payments and auto top-up (`AIHIGRESS_PAYMENT_*`, `AIHIGRESS_STRIPE_*` in `.env.example`).
public struct PaymentSettings: Sendable {
    public enum ProviderName: String, Sendable, CaseIterable {
        /// Card payments through the Stripe-compatible API.
        case stripe
        /// A pending payment (an invoice) that a system administrator confirms when the money has arrived.
        case manual
    }

    /// Nil when `AIHIGRESS_STRIPE_SECRET_KEY` is not set.
    public var stripe: StripeSettings?
    /// The provider of organisations that chose none: `AIHIGRESS_PAYMENT_PROVIDER`, by default Stripe when it is
    /// configured, otherwise manual.
    public var defaultProvider: ProviderName
    /// Provider calls per payment before it is given up as failed (retryable errors only; a decline is final).
    public var maxAttempts: Int
    /// Backoff before retry n is `retryBaseDelay × 2^(n-1)`.
    public var retryBaseDelay: Duration

    public init(stripe: StripeSettings? = nil, defaultProvider: ProviderName? = nil, maxAttempts: Int = 4, retryBaseDelay: Duration = .seconds(1)) {
        self.stripe = stripe
        self.defaultProvider = defaultProvider ?? (stripe == nil ? .manual : .stripe)
        self.maxAttempts = maxAttempts
        self.retryBaseDelay = retryBaseDelay
    }

    static func read(_ reader: inout SettingReader) -> PaymentSettings {
        let secretKey = reader.optionalString("AIHIGRESS_STRIPE_SECRET_KEY")
        let webhookSecret = reader.optionalString("AIHIGRESS_STRIPE_WEBHOOK_SECRET")
        let apiBase = reader.string("AIHIGRESS_STRIPE_API_BASE", default: "https://api.stripe.com")
        let currency = reader.string("AIHIGRESS_STRIPE_CURRENCY", default: "usd").lowercased()
        let centsPerCredit = reader.integer("AIHIGRESS_STRIPE_CENTS_PER_CREDIT", default: 100, in: 1...1_000_000)
        let tolerance = reader.integer("AIHIGRESS_STRIPE_WEBHOOK_TOLERANCE_SECONDS", default: 300, in: 1...86_400)
        let timeout = reader.integer("AIHIGRESS_STRIPE_TIMEOUT_SECONDS", default: 30, in: 1...600)
        let chosen: ProviderName? = reader.value("AIHIGRESS_PAYMENT_PROVIDER") == nil
            ? nil : reader.choice("AIHIGRESS_PAYMENT_PROVIDER", default: ProviderName.manual)
        let attempts = reader.integer("AIHIGRESS_PAYMENT_MAX_ATTEMPTS", default: 4, in: 1...20)
        let retryMillis = reader.integer("AIHIGRESS_PAYMENT_RETRY_BASE_MS", default: 1000, in: 1...600_000)

        let validBase = URL(string: apiBase).map { url in
            ["https", "http"].contains(url.scheme?.lowercased() ?? "") && url.host?.isEmpty == false && url.query == nil && url.fragment == nil
        } ?? false
        if !validBase {
            reader.problems.append("AIHIGRESS_STRIPE_API_BASE: must be an http(s) URL without query or fragment, got '\(apiBase)'")
        }
        if currency.count != 3 || !currency.allSatisfy({ $0.isASCII && $0.isLetter }) {
            reader.problems.append("AIHIGRESS_STRIPE_CURRENCY: expected a three-letter ISO currency code such as usd, got '\(currency)'")
        }
        var stripe: StripeSettings?
        if let secretKey {
            if webhookSecret == nil {
                reader.problems.append(
                    "AIHIGRESS_STRIPE_WEBHOOK_SECRET: required when AIHIGRESS_STRIPE_SECRET_KEY is set (the endpoint's signing secret, whsec_…)"
                )
            }
            stripe = StripeSettings(
                secretKey: secretKey, webhookSecret: webhookSecret ?? "", apiBase: apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase,
                currency: currency, centsPerCredit: Int64(centsPerCredit), webhookTolerance: .seconds(tolerance), requestTimeout: .seconds(timeout)
            )
        }
        if chosen == .stripe && secretKey == nil {
            reader.problems.append("AIHIGRESS_PAYMENT_PROVIDER: 'stripe' needs AIHIGRESS_STRIPE_SECRET_KEY")
        }
        return PaymentSettings(stripe: stripe, defaultProvider: chosen, maxAttempts: attempts, retryBaseDelay: .milliseconds(retryMillis))
    }
}
