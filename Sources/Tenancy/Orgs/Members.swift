import Core
import SQLKit

/// Memberships of one organisation. Every query is scoped by the organisation id, so a user who is not a
/// member here answers 404. Removing a member only ends their access: keys they created in the organisation
/// stay the organisation's (revoke them separately if needed).
public struct Members: Sendable {
    private let database: Database
    private let grants = RoleGrants()
    private let directory = Directory()
    private let audit = AuditLog()

    public init(database: Database) {
        self.database = database
    }

    /// Members ordered by user id (UUIDv7: newest accounts first).
    public func list(orgId: String, page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        let rows = try await database.query(
            """
            SELECT u.id, u.email, u.display_name, u.status, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = \(bind: orgId) AND u.id < \(bind: page.cursor ?? "~") ORDER BY u.id DESC LIMIT \(bind: page.limit + 1)
            """
        )
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        return (try cut.items.map(Self.json), cut.next)
    }

    /// Adds an existing account by email.
    public func add(email rawEmail: String, role: String, by access: OrgAccess, actor: Actor, client: ClientInfo) async throws -> JSONValue {
        let email = try InputRules.normalizedEmail(rawEmail)
        let (grants, directory, audit) = (self.grants, self.directory, self.audit)
        let orgId = access.org.id
        let userId: String = try await database.transaction { db in
            try await grants.lockMemberships(orgId: orgId, on: db)
            try await grants.checkGrant(role, by: access, on: db)
            guard let user = try await directory.user(email: email, on: db) else {
                throw APIError.notFound("no account uses '\(email)'; send an invitation instead", code: "user_not_found")
            }
            guard try await directory.role(of: user.id, in: orgId, on: db) == nil else {
                throw APIError.conflict("'\(email)' is already a member; change their role instead", code: "already_member")
            }
            try await directory.addMember(userId: user.id, orgId: orgId, role: role, on: db)
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "member.added", targetKind: "user", targetId: user.id, ip: client.ip, userAgent: client.userAgent, details: ["role": .string(role)]),
                on: db
            )
            return user.id
        }
        return try await member(orgId: orgId, userId: userId)
    }

    public func changeRole(userId: String, to role: String, by access: OrgAccess, actor: Actor, client: ClientInfo) async throws -> JSONValue {
        let (grants, directory, audit) = (self.grants, self.directory, self.audit)
        let orgId = access.org.id
        try await database.transaction { db in
            try await grants.lockMemberships(orgId: orgId, on: db)
            guard let current = try await directory.role(of: userId, in: orgId, on: db) else { throw Self.notFound(userId) }
            try await grants.checkTarget(current: current, by: access, on: db)
            try await grants.checkGrant(role, by: access, on: db)
            guard current != role else { return }
            if current == BuiltInRole.owner.rawValue {
                try await grants.ensureAnotherOwner(orgId: orgId, besides: userId, on: db)
            }
            try await db.raw("UPDATE memberships SET role = \(bind: role) WHERE org_id = \(bind: orgId) AND user_id = \(bind: userId)").run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "member.role_changed", targetKind: "user", targetId: userId, ip: client.ip, userAgent: client.userAgent, details: ["from": .string(current), "to": .string(role)]),
                on: db
            )
        }
        return try await member(orgId: orgId, userId: userId)
    }

    public func remove(userId: String, by access: OrgAccess, actor: Actor, client: ClientInfo) async throws {
        let (grants, directory, audit) = (self.grants, self.directory, self.audit)
        let orgId = access.org.id
        try await database.transaction { db in
            try await grants.lockMemberships(orgId: orgId, on: db)
            guard let current = try await directory.role(of: userId, in: orgId, on: db) else { throw Self.notFound(userId) }
            try await grants.checkTarget(current: current, by: access, on: db)
            if current == BuiltInRole.owner.rawValue {
                try await grants.ensureAnotherOwner(orgId: orgId, besides: userId, on: db)
            }
            try await db.raw("DELETE FROM memberships WHERE org_id = \(bind: orgId) AND user_id = \(bind: userId)").run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "member.removed", targetKind: "user", targetId: userId, ip: client.ip, userAgent: client.userAgent, details: ["role": .string(current)]),
                on: db
            )
        }
    }

    private func member(orgId: String, userId: String) async throws -> JSONValue {
        guard let row = try await database.first(
            """
            SELECT u.id, u.email, u.display_name, u.status, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = \(bind: orgId) AND m.user_id = \(bind: userId)
            """
        ) else { throw Self.notFound(userId) }
        return try Self.json(row)
    }

    static func notFound(_ userId: String) -> APIError {
        .notFound("member '\(userId)' not found in this organization", code: "member_not_found")
    }

    static func json(_ row: any SQLRow) throws -> JSONValue {
        .object([
            "id": .string(try row.decode(column: "id", as: String.self)),
            "email": .string(try row.decode(column: "email", as: String.self)),
            "display_name": Render.string(try row.decode(column: "display_name", as: String?.self)),
            "status": .string(try row.decode(column: "status", as: String.self)),
            "role": .string(try row.decode(column: "role", as: String.self)),
            "joined_at": .int(try row.decode(column: "created_at", as: Int64.self)),
        ])
    }
}
