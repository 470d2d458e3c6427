import Core
import SQLKit

/// Messages for a user (new device, new network, security events). Delivery beyond the API (email, console
/// badge) reads the same table.
public struct Notifications: Sendable {
    public init() {}

    public func notify(userId: String, orgId: String? = nil, kind: String, message: String, details: [String: JSONValue] = [:], on db: any SQLDatabase) async throws {
        let detailsText = details.isEmpty ? nil : JSONText.object(details)
        try await db.raw(
            """
            INSERT INTO notifications (id, user_id, org_id, kind, message, details, created_at)
            VALUES (\(bind: Identifier.make()), \(bind: userId), \(bind: orgId), \(bind: kind), \(bind: message), \(bind: detailsText), \(bind: EpochMillis.now()))
            """
        ).run()
    }

    public func list(userId: String, page: PageRequest, on db: any SQLDatabase) async throws -> (items: [JSONValue], next: String?) {
        let cursor = page.cursor ?? "~"
        let rows = try await db.raw(
            """
            SELECT id, org_id, kind, message, details, created_at, read_at FROM notifications
            WHERE user_id = \(bind: userId) AND id < \(bind: cursor) ORDER BY id DESC LIMIT \(bind: page.limit + 1)
            """
        ).all()
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        let items = try cut.items.map { row -> JSONValue in
            let details = try row.decode(column: "details", as: String?.self).flatMap { try? JSONText.parse(Array($0.utf8)) }
            return .object([
                "id": .string(try row.decode(column: "id", as: String.self)),
                "org_id": (try row.decode(column: "org_id", as: String?.self)).map(JSONValue.string) ?? .null,
                "kind": .string(try row.decode(column: "kind", as: String.self)),
                "message": .string(try row.decode(column: "message", as: String.self)),
                "details": details ?? .null,
                "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
                "read_at": (try row.decode(column: "read_at", as: Int64?.self)).map(JSONValue.int) ?? .null,
            ])
        }
        return (items, cut.next)
    }
}
