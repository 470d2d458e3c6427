import Core
import SQLKit

/// Turns a membership's role name into permissions: a built-in role, or one of the organisation's custom roles.
public struct RoleCatalog: Sendable {
    public init() {}

    public func permissions(role: String, orgId: String, on db: any SQLDatabase) async throws -> Set<Permission> {
        if let builtIn = BuiltInRole(rawValue: role) { return builtIn.permissions }
        guard let row = try await db.raw("SELECT permissions FROM roles WHERE org_id = \(bind: orgId) AND name = \(bind: role)").first() else {
            return []
        }
        return Self.decodePermissions(try row.decode(column: "permissions", as: String.self))
    }

    /// Stored lists are written by us; names no longer in the catalogue are ignored rather than failing.
    public static func decodePermissions(_ text: String) -> Set<Permission> {
        guard let value = try? JSONText.parse(Array(text.utf8)), case .array(let items) = value else { return [] }
        return Set(items.compactMap { $0.stringValue.flatMap(Permission.init(rawValue:)) })
    }

    public static func encodePermissions(_ permissions: Set<Permission>) -> String {
        JSONText.render(.array(permissions.sorted().map { .string($0.rawValue) }))
    }
}
