/// Limits on an organisation or an API key: requests and tokens per minute, concurrent requests, and a monthly
/// spend budget (hard: refuse once reached; soft: only notify at 80 % and 100 %). Every field is optional.
public struct UsageLimits: Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var concurrentRequests: Int?
    /// Micro-credits per calendar month (UTC).
    public var monthlyBudget: Int64?
    public var budgetIsHard: Bool

    public init(
        requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, concurrentRequests: Int? = nil, monthlyBudget: Int64? = nil,
        budgetIsHard: Bool = true
    ) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.concurrentRequests = concurrentRequests
        self.monthlyBudget = monthlyBudget
        self.budgetIsHard = budgetIsHard
    }

    public var isEmpty: Bool {
        requestsPerMinute == nil && tokensPerMinute == nil && concurrentRequests == nil && monthlyBudget == nil
    }

    static let fields = ["requests_per_minute", "tokens_per_minute", "concurrent_requests", "monthly_budget", "budget_enforcement"]

    /// `{requests_per_minute, tokens_per_minute, concurrent_requests, monthly_budget: "25.5", budget_enforcement: hard|soft}`.
    public init(_ fields: Fields) throws(APIError) {
        for key in fields.object.keys where !Self.fields.contains(key) {
            throw fields.invalid(key, "is not a limit; use \(Self.fields.joined(separator: ", "))")
        }
        func positive(_ key: String) throws(APIError) -> Int? {
            guard let value = try fields.int(key) else { return nil }
            guard value > 0 else { throw fields.invalid(key, "must be a positive integer") }
            return value
        }
        var budget: Int64?
        if let text = try fields.string("monthly_budget") {
            guard let credits = Credits(parsing: text), credits > .zero else {
                throw fields.invalid("monthly_budget", "must be a positive decimal number of credits, as a string")
            }
            budget = credits.micros
        }
        let enforcement = try fields.string("budget_enforcement") ?? "hard"
        guard enforcement == "hard" || enforcement == "soft" else { throw fields.invalid("budget_enforcement", "must be hard or soft") }
        self.init(
            requestsPerMinute: try positive("requests_per_minute"), tokensPerMinute: try positive("tokens_per_minute"),
            concurrentRequests: try positive("concurrent_requests"), monthlyBudget: budget, budgetIsHard: enforcement == "hard"
        )
    }

    /// Stored JSON, tolerant of unknown or malformed fields (written by us).
    public init(stored value: JSONValue) {
        func int(_ key: String) -> Int? { value[key]?.intValue.map { Int($0) }.flatMap { $0 > 0 ? $0 : nil } }
        self.init(
            requestsPerMinute: int("requests_per_minute"), tokensPerMinute: int("tokens_per_minute"),
            concurrentRequests: int("concurrent_requests"),
            monthlyBudget: value["monthly_budget"]?.stringValue.flatMap { Credits(parsing: $0)?.micros },
            budgetIsHard: value["budget_enforcement"]?.stringValue != "soft"
        )
    }

    public var json: JSONValue {
        var out: [String: JSONValue] = [:]
        if let requestsPerMinute { out["requests_per_minute"] = .int(Int64(requestsPerMinute)) }
        if let tokensPerMinute { out["tokens_per_minute"] = .int(Int64(tokensPerMinute)) }
        if let concurrentRequests { out["concurrent_requests"] = .int(Int64(concurrentRequests)) }
        if let monthlyBudget {
            out["monthly_budget"] = .string(Credits(micros: monthlyBudget).description)
            out["budget_enforcement"] = .string(budgetIsHard ? "hard" : "soft")
        }
        return .object(out)
    }
}
