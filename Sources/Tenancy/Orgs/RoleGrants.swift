import Core
import SQLKit

/// The rules for handing out and taking away roles, shared by members, invitations and custom roles:
/// - only owners grant the owner role, or change or remove an owner;
/// - anyone else may only grant (or change, or take from someone) permissions they hold themselves;
/// - an organisation always keeps at least one owner.
struct RoleGrants: Sendable {
    private let catalog = RoleCatalog()

    /// The permissions of `role` in the organisation: a built-in role or one of its custom roles (400 otherwise).
    func permissions(ofExisting role: String, orgId: String, on db: any SQLDatabase) async throws -> Set<Permission> {
        if let builtIn = BuiltInRole(rawValue: role) { return builtIn.permissions }
        guard let row = try await db.raw("SELECT permissions FROM roles WHERE org_id = \(bind: orgId) AND name = \(bind: role)").first() else {
            throw APIError.badRequest(
                "'\(role)' is neither a built-in role nor a custom role of this organization; GET /orgs/{org}/roles lists them",
                param: "role", code: "unknown_role"
            )
        }
        return RoleCatalog.decodePermissions(try row.decode(column: "permissions", as: String.self))
    }

    /// May the caller give someone `role`?
    func checkGrant(_ role: String, by access: OrgAccess, on db: any SQLDatabase) async throws {
        let permissions = try await permissions(ofExisting: role, orgId: access.org.id, on: db)
        if role == BuiltInRole.owner.rawValue, !access.isOwner {
            throw APIError.forbidden("only owners may grant the owner role", code: "owner_required")
        }
        try Self.checkWithin(permissions, by: access)
    }

    /// May the caller change or remove a member who now holds `current`?
    func checkTarget(current: String, by access: OrgAccess, on db: any SQLDatabase) async throws {
        guard !access.isOwner else { return }
        if current == BuiltInRole.owner.rawValue {
            throw APIError.forbidden("only owners may change or remove an owner", code: "owner_required")
        }
        let held = try await catalog.permissions(role: current, orgId: access.org.id, on: db)
        let missing = held.subtracting(access.permissions)
        guard missing.isEmpty else {
            throw APIError.forbidden(
                "this member holds permissions you do not (\(Self.names(missing))); ask an owner", code: "privilege_escalation"
            )
        }
    }

    /// Non-owners may only hand out permissions they hold.
    static func checkWithin(_ permissions: Set<Permission>, by access: OrgAccess) throws(APIError) {
        guard !access.isOwner else { return }
        let missing = permissions.subtracting(access.permissions)
        guard missing.isEmpty else {
            throw .forbidden("you cannot grant permissions you do not hold: \(names(missing))", code: "privilege_escalation")
        }
    }

    /// Serialises membership changes of one organisation until the transaction ends: a row lock on PostgreSQL
    /// (SQLite's `BEGIN IMMEDIATE` already excludes every other writer). Two owners demoting each other at once
    /// therefore cannot leave the organisation without an owner.
    func lockMemberships(orgId: String, on db: any SQLDatabase) async throws {
        try await db.raw("UPDATE organizations SET updated_at = updated_at WHERE id = \(bind: orgId)").run()
    }

    /// 409 unless someone other than `userId` is an owner too. Call after `lockMemberships`.
    func ensureAnotherOwner(orgId: String, besides userId: String, on db: any SQLDatabase) async throws {
        let other = try await db.raw(
            "SELECT user_id FROM memberships WHERE org_id = \(bind: orgId) AND role = 'owner' AND user_id <> \(bind: userId) LIMIT 1"
        ).first()
        guard other != nil else {
            throw APIError.conflict("the last owner cannot be removed or demoted; make someone else an owner first", code: "last_owner")
        }
    }

    static func names(_ permissions: Set<Permission>) -> String {
        permissions.sorted().map(\.rawValue).joined(separator: ", ")
    }
}

/// Small JSON helpers for the management services.
enum Render {
    static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func int(_ value: Int64?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    static func strings(_ values: [String]?) -> JSONValue { values.map { .array($0.map(JSONValue.string)) } ?? .null }
    static func permissions(_ set: Set<Permission>) -> JSONValue { .array(set.sorted().map { .string($0.rawValue) }) }

    /// A stored JSON text column, parsed (null when absent or unreadable).
    static func stored(_ text: String?) -> JSONValue {
        guard let text, let value = try? JSONText.parse(Array(text.utf8)) else { return .null }
        return value
    }
}
