/// How requests are priced, held and charged (`AIHIGRESS_BILLING_*` in `.env.example`).
public struct BillingSettings: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Holds before the upstream call, 402 when the balance cannot cover it.
        case enforce
        /// Everything is priced, recorded and reported; nothing is refused (self-hosted single-team use).
        case meter
    }

    public enum UnpricedPolicy: String, Sendable, CaseIterable {
        /// A model without a price is refused (never silently free).
        case refuse
        /// Charged at the configured default price.
        case `default`
    }

    public var mode: Mode
    public var unpriced: UnpricedPolicy
    /// Per million tokens, when `unpriced` is `default`.
    public var defaultInputPrice: Credits
    public var defaultOutputPrice: Credits
    /// Holds expire after this, so a crashed instance cannot freeze a balance.
    public var holdLifetime: Duration
    /// Output tokens assumed when a request sets no `max_tokens`.
    public var defaultOutputCap: Int
    /// Credits `admin bootstrap` grants a new organisation.
    public var bootstrapCredits: Credits
    /// Shown next to amounts (credits are currency-neutral).
    public var displayCurrency: String

    static func read(_ reader: inout SettingReader, production: Bool) -> BillingSettings {
        let mode = reader.choice("AIHIGRESS_BILLING_MODE", default: Mode.enforce)
        let unpriced = reader.choice("AIHIGRESS_UNPRICED_MODELS", default: UnpricedPolicy.refuse)
        let input = reader.credits("AIHIGRESS_DEFAULT_PRICE_INPUT", default: .zero)
        let output = reader.credits("AIHIGRESS_DEFAULT_PRICE_OUTPUT", default: .zero)
        let hold = reader.integer("AIHIGRESS_HOLD_TTL_SECONDS", default: 900, in: 2...86_400)
        let cap = reader.integer("AIHIGRESS_HOLD_OUTPUT_CAP_TOKENS", default: 4096, in: 1...10_000_000)
        let bootstrap = reader.credits("AIHIGRESS_BOOTSTRAP_CREDITS", default: production ? .zero : Credits(micros: 10 * Credits.microPerCredit))
        let currency = reader.string("AIHIGRESS_CREDIT_DISPLAY_CURRENCY", default: "USD")
        if unpriced == .default && input == .zero && output == .zero {
            reader.problems.append("AIHIGRESS_DEFAULT_PRICE_INPUT/AIHIGRESS_DEFAULT_PRICE_OUTPUT: set a price when AIHIGRESS_UNPRICED_MODELS=default")
        }
        return BillingSettings(
            mode: mode, unpriced: unpriced, defaultInputPrice: input, defaultOutputPrice: output, holdLifetime: .seconds(hold),
            defaultOutputCap: cap, bootstrapCredits: bootstrap, displayCurrency: currency
        )
    }
}

extension SettingReader {
    /// A non-negative decimal amount of credits (`12.5`).
    mutating func credits(_ name: String, default fallback: Credits) -> Credits {
        guard let text = value(name) else { return fallback }
        guard let amount = Credits(parsing: text), amount >= .zero else {
            problems.append("\(name): expected a non-negative amount such as 12.5, got '\(text)'")
            return fallback
        }
        return amount
    }
}
