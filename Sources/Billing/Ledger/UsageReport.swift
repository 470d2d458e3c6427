import Core
import SQLKit

/// Usage of one organisation over `[from, to)` (epoch ms), grouped by UTC day, model, provider, API key or user,
/// computed from its `charge` ledger entries alone: the ledger is the source of truth, so every figure reconciles
/// with it by construction (`cost_micros = −SUM(amount)` of the charges in the group).
public struct UsageReport: Sendable {
    public enum Grouping: String, Sendable, CaseIterable {
        case day, model, provider, key, user
    }

    /// One group's figures (or the total's, with `group` nil).
    public struct Row: Sendable, Equatable {
        /// `YYYY-MM-DD` (UTC) for `day`, else the model, provider id, API key id or user id; nil where the ledger has none.
        public var group: String?
        /// The key's name (`key`) or the user's email (`user`), where known.
        public var label: String?
        public var requests: Int64 = 0
        public var inputTokens: Int64 = 0
        public var outputTokens: Int64 = 0
        public var cachedInputTokens: Int64 = 0
        public var reasoningTokens: Int64 = 0
        public var estimatedRequests: Int64 = 0
        public var costMicros: Int64 = 0

        public static func + (lhs: Row, rhs: Row) -> Row {
            var sum = lhs
            sum.requests += rhs.requests
            sum.inputTokens += rhs.inputTokens
            sum.outputTokens += rhs.outputTokens
            sum.cachedInputTokens += rhs.cachedInputTokens
            sum.reasoningTokens += rhs.reasoningTokens
            sum.estimatedRequests += rhs.estimatedRequests
            sum.costMicros += rhs.costMicros
            return sum
        }
    }

    public static let dayMillis: Int64 = 86_400_000
    /// The longest range one report covers.
    public static let maximumRange: Int64 = 366 * dayMillis

    public let orgId: String
    public let from: Int64
    public let to: Int64
    public let grouping: Grouping

    public init(orgId: String, from: Int64, to: Int64, grouping: Grouping) {
        self.orgId = orgId
        self.from = from
        self.to = to
        self.grouping = grouping
    }

    /// The groups (days in order; other groupings by cost, highest first) and their total.
    public func run(on db: any SQLDatabase) async throws -> (rows: [Row], total: Row) {
        // Fixed SQL fragments per grouping (never user input). `key` and `user` join the organisation's own keys; a
        // charge made with an API key belongs to the key's creator when the entry names no user.
        let (select, join, groupBy, order): (String, String, String, String) = switch grouping {
        case .day:
            ("CAST(e.created_at / \(Self.dayMillis) AS BIGINT) AS day", "", "e.created_at / \(Self.dayMillis)", "day")
        case .model:
            ("e.model AS g", "", "e.model", "cost_micros DESC, g")
        case .provider:
            ("e.provider_id AS g", "", "e.provider_id", "cost_micros DESC, g")
        case .key:
            ("e.api_key_id AS g, k.name AS label", Self.keyJoin, "e.api_key_id, k.name", "cost_micros DESC, g")
        case .user:
            ("COALESCE(e.user_id, k.created_by) AS g, u.email AS label",
             Self.keyJoin + " LEFT JOIN users u ON u.id = COALESCE(e.user_id, k.created_by)",
             "COALESCE(e.user_id, k.created_by), u.email", "cost_micros DESC, g")
        }
        let sql: SQLQueryString = """
            SELECT \(unsafeRaw: select),
                COUNT(*) AS requests,
                CAST(COALESCE(SUM(e.input_tokens), 0) AS BIGINT) AS input_tokens,
                CAST(COALESCE(SUM(e.output_tokens), 0) AS BIGINT) AS output_tokens,
                CAST(COALESCE(SUM(e.cached_input_tokens), 0) AS BIGINT) AS cached_input_tokens,
                CAST(COALESCE(SUM(e.reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens,
                CAST(COALESCE(SUM(CASE WHEN e.estimated THEN 1 ELSE 0 END), 0) AS BIGINT) AS estimated_requests,
                CAST(-COALESCE(SUM(e.amount), 0) AS BIGINT) AS cost_micros
            FROM ledger_entries e \(unsafeRaw: join)
            WHERE e.org_id = \(bind: orgId) AND e.kind = 'charge' AND e.created_at >= \(bind: from) AND e.created_at < \(bind: to)
            GROUP BY \(unsafeRaw: groupBy) ORDER BY \(unsafeRaw: order)
            """
        let rows = try await db.raw(sql).all().map(decode)
        return (rows, rows.reduce(Row(), +))
    }

    private static let keyJoin = "LEFT JOIN api_keys k ON k.id = e.api_key_id AND k.org_id = e.org_id"

    private func decode(_ row: any SQLRow) throws -> Row {
        var out = Row()
        switch grouping {
        case .day: out.group = Self.date(day: try row.decode(column: "day", as: Int64.self))
        case .model, .provider: out.group = try row.decode(column: "g", as: String?.self)
        case .key, .user:
            out.group = try row.decode(column: "g", as: String?.self)
            out.label = try row.decode(column: "label", as: String?.self)
        }
        out.requests = try row.decode(column: "requests", as: Int64.self)
        out.inputTokens = try row.decode(column: "input_tokens", as: Int64.self)
        out.outputTokens = try row.decode(column: "output_tokens", as: Int64.self)
        out.cachedInputTokens = try row.decode(column: "cached_input_tokens", as: Int64.self)
        out.reasoningTokens = try row.decode(column: "reasoning_tokens", as: Int64.self)
        out.estimatedRequests = try row.decode(column: "estimated_requests", as: Int64.self)
        out.costMicros = try row.decode(column: "cost_micros", as: Int64.self)
        return out
    }

    /// `YYYY-MM-DD` of a count of days since 1970-01-01 (proleptic Gregorian, UTC).
    public static func date(day: Int64) -> String {
        // Howard Hinnant's civil_from_days.
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }
}
