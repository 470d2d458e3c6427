import Core
import SQLKit

/// Reads the audit log: one organisation's entries (members with `audit.view`) or every entry (system
/// administrators), filtered, newest first, with cursor pagination over the entries' time-ordered ids.
public struct AuditQueries: Sendable {
    public struct Filter: Sendable {
        /// Organisation id or slug; nil: every organisation and the entries that belong to none (logins…).
        public var org: String?
        public var action: String?
        public var actorId: String?
        public var targetId: String?
        /// Epoch milliseconds, both inclusive.
        public var from: Int64?
        public var to: Int64?

        public init(org: String? = nil, action: String? = nil, actorId: String? = nil, targetId: String? = nil, from: Int64? = nil, to: Int64? = nil) {
            self.org = org
            self.action = action
            self.actorId = actorId
            self.targetId = targetId
            self.from = from
            self.to = to
        }
    }

    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func list(_ filter: Filter, page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        var sql: SQLQueryString = """
            SELECT id, org_id, actor_kind, actor_id, action, target_kind, target_id, ip, user_agent, details, created_at
            FROM audit_log WHERE id < \(bind: page.cursor ?? "~")
            """
        if let org = filter.org { sql += " AND org_id IN (SELECT id FROM organizations WHERE id = \(bind: org) OR slug = \(bind: org))" }
        if let action = filter.action { sql += " AND action = \(bind: action)" }
        if let actorId = filter.actorId { sql += " AND actor_id = \(bind: actorId)" }
        if let targetId = filter.targetId { sql += " AND target_id = \(bind: targetId)" }
        if let from = filter.from { sql += " AND created_at >= \(bind: from)" }
        if let to = filter.to { sql += " AND created_at <= \(bind: to)" }
        sql += " ORDER BY id DESC LIMIT \(bind: page.limit + 1)"
        let rows = try await database.query(sql)
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        let items = try cut.items.map { row -> JSONValue in
            .object([
                "id": .string(try row.decode(column: "id", as: String.self)),
                "org_id": Render.string(try row.decode(column: "org_id", as: String?.self)),
                "actor": .object([
                    "kind": .string(try row.decode(column: "actor_kind", as: String.self)),
                    "id": Render.string(try row.decode(column: "actor_id", as: String?.self)),
                ]),
                "action": .string(try row.decode(column: "action", as: String.self)),
                "target": .object([
                    "kind": Render.string(try row.decode(column: "target_kind", as: String?.self)),
                    "id": Render.string(try row.decode(column: "target_id", as: String?.self)),
                ]),
                "ip": Render.string(try row.decode(column: "ip", as: String?.self)),
                "user_agent": Render.string(try row.decode(column: "user_agent", as: String?.self)),
                "details": Render.stored(try row.decode(column: "details", as: String?.self)),
                "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
            ])
        }
        return (items, cut.next)
    }
}
