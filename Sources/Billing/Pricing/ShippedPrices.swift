import Core
import NIOConcurrencyHelpers

/// List prices of widely used models, in credits (= US dollars at the default display currency) per million
/// tokens, taken from the providers' public price pages on the date below. Operators override any of them with
/// `PUT /pricing`; a model missing here and not overridden is refused (or charged the configured default).
enum ShippedPrices {
    static let taken = "2025-06-01"

    /// model: (input, cached input, output) per million tokens.
    static let table: [String: (input: String, cached: String?, output: String)] = [
        "gpt-4o": ("2.50", "1.25", "10.00"),
        "gpt-4o-mini": ("0.15", "0.075", "0.60"),
        "gpt-4.1": ("2.00", "0.50", "8.00"),
        "gpt-4.1-mini": ("0.40", "0.10", "1.60"),
        "gpt-4.1-nano": ("0.10", "0.025", "0.40"),
        "o1": ("15.00", "7.50", "60.00"),
        "o3": ("2.00", "0.50", "8.00"),
        "o3-mini": ("1.10", "0.55", "4.40"),
        "o4-mini": ("1.10", "0.275", "4.40"),
        "gpt-3.5-turbo": ("0.50", nil, "1.50"),
        "text-embedding-3-small": ("0.02", nil, "0"),
        "text-embedding-3-large": ("0.13", nil, "0"),
        "claude-opus-4": ("15.00", "1.50", "75.00"),
        "claude-sonnet-4": ("3.00", "0.30", "15.00"),
        "claude-3-7-sonnet": ("3.00", "0.30", "15.00"),
        "claude-3-5-sonnet": ("3.00", "0.30", "15.00"),
        "claude-3-5-haiku": ("0.80", "0.08", "4.00"),
        "claude-3-haiku": ("0.25", "0.03", "1.25"),
        "gemini-2.5-pro": ("1.25", "0.31", "10.00"),
        "gemini-2.5-flash": ("0.30", "0.075", "2.50"),
        "gemini-2.0-flash": ("0.10", "0.025", "0.40"),
        "gemini-1.5-pro": ("1.25", nil, "5.00"),
        "gemini-1.5-flash": ("0.075", nil, "0.30"),
        "deepseek-chat": ("0.27", "0.07", "1.10"),
        "deepseek-reasoner": ("0.55", "0.14", "2.19"),
    ]

    /// Exact name, else the longest listed name the model extends with a dash (`gpt-4o-2024-08-06` → `gpt-4o`).
    static func price(for model: String) -> Price? {
        if let known = looked.withLockedValue({ $0[model] }) { return known }
        let price = lookUp(model)
        // Names come from requests: the memo is bounded, and starts over when full.
        looked.withLockedValue { looked in
            if looked.count >= 1_024 { looked.removeAll(keepingCapacity: true) }
            looked[model] = .some(price)
        }
        return price
    }

    /// Prices already looked up, by the name asked for (nil: not listed): the prefix search allocates per entry.
    private static let looked = NIOLockedValueBox<[String: Price?]>([:])

    private static func lookUp(_ model: String) -> Price? {
        var name = model.lowercased()
        if let slash = name.lastIndex(of: "/") { name = String(name[name.index(after: slash)...]) }
        if name.hasPrefix("models/") { name = String(name.dropFirst(7)) }
        let key = table[name] != nil ? name : table.keys.filter { name.hasPrefix($0 + "-") }.max { $0.count < $1.count }
        guard let key, let entry = table[key] else { return nil }
        return Price(
            inputPerMillion: micros(entry.input), outputPerMillion: micros(entry.output), cachedInputPerMillion: entry.cached.map(micros),
            source: "shipped \(taken) (\(key))"
        )
    }

    /// Decimal text to micro-credits; the table is written by hand, so a typo must fail loudly in tests.
    private static func micros(_ credits: String) -> Int64 { Credits(parsing: credits)!.micros }
}
