import Core
import Hummingbird

/// The audit log: one organisation's (`audit.view`) and the whole platform's (system administrators).
/// Filters: `action`, `actor_id`, `target_id`, `from` and `to` (epoch milliseconds, inclusive); `org` on the
/// system view. Newest first, cursor pagination.
public struct AuditRoutes: Sendable {
    private let queries: AuditQueries

    public init(identity: Identity) {
        self.queries = AuditQueries(database: identity.database)
    }

    public func register(on api: ManagementRouter) {
        let tag = "audit"
        api.add(.get, "/orgs/{org}/audit-log", access: .org(.auditView), tag: tag, summary: "The organisation's audit log (filters, cursor pagination)") { call in
            var filter = try Self.filter(call)
            filter.org = try call.organization().org.id
            let result = try await queries.list(filter, page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.get, "/system/audit-log", access: .system, tag: "system", summary: "The platform's audit log (filters incl. org, cursor pagination)") { call in
            var filter = try Self.filter(call)
            filter.org = call.query("org").flatMap { $0.isEmpty ? nil : $0 }
            let result = try await queries.list(filter, page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
    }

    static func filter(_ call: ManagementCall) throws(APIError) -> AuditQueries.Filter {
        func text(_ name: String) -> String? { call.query(name).flatMap { $0.isEmpty || $0.utf8.count > 200 ? nil : $0 } }
        func millis(_ name: String) throws(APIError) -> Int64? {
            guard let value = text(name) else { return nil }
            guard let number = Int64(value), number >= 0 else { throw .badRequest("\(name) must be epoch milliseconds", param: name) }
            return number
        }
        return AuditQueries.Filter(
            action: text("action"), actorId: text("actor_id"), targetId: text("target_id"), from: try millis("from"), to: try millis("to")
        )
    }
}
