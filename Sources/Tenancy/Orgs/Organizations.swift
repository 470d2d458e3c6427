import Core
import SQLKit

/// Organisations as their members see them: the caller's list, creation (the creator becomes owner), details,
/// renaming.
public struct Organizations: Sendable {
    private let database: Database
    private let settings: AuthSettings
    private let directory = Directory()
    private let audit = AuditLog()

    public init(database: Database, settings: AuthSettings) {
        self.database = database
        self.settings = settings
    }

    /// The organisations the user belongs to, with their role, newest first.
    public func list(userId: String) async throws -> [JSONValue] {
        let rows = try await database.query(
            """
            SELECT o.id, o.slug, o.name, o.status, o.created_at, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
            WHERE m.user_id = \(bind: userId) ORDER BY o.id DESC
            """
        )
        return try rows.map { try Self.json($0, role: try $0.decode(column: "role", as: String.self)) }
    }

    public func create(slug: String, name: String?, userId: String, client: ClientInfo) async throws -> JSONValue {
        guard settings.allowOrganizationCreation else {
            throw APIError.forbidden("creating organizations is turned off on this gateway; ask an operator", code: "organization_creation_disabled")
        }
        try InputRules.validateSlug(slug)
        let name = name ?? slug
        try InputRules.validateName(name, field: "name")
        let directory = self.directory
        let taken = APIError.conflict("the slug '\(slug)' is taken", code: "slug_taken")
        let org: Organization
        do {
            org = try await insert(slug: slug, name: name, userId: userId, client: client, taken: taken)
        } catch let error as APIError {
            throw error
        } catch {
            // Lost a race for the same slug: the unique index refused the second insert.
            if try await database.withConnection({ db in try await directory.organization(slug: slug, on: db) }) != nil { throw taken }
            throw error
        }
        return try await details(org.id, role: BuiltInRole.owner.rawValue, permissions: BuiltInRole.owner.permissions)
    }

    private func insert(slug: String, name: String, userId: String, client: ClientInfo, taken: APIError) async throws -> Organization {
        let (directory, audit) = (self.directory, self.audit)
        return try await database.transaction { db in
            guard try await directory.organization(slug: slug, on: db) == nil else { throw taken }
            let org = try await directory.createOrganization(slug: slug, name: name, on: db)
            try await directory.addMember(userId: userId, orgId: org.id, role: BuiltInRole.owner.rawValue, on: db)
            try await audit.append(
                .init(orgId: org.id, actor: .user(userId), action: "org.created", targetKind: "organization", targetId: org.id, ip: client.ip, userAgent: client.userAgent, details: ["slug": .string(slug)]),
                on: db
            )
            try await audit.append(
                .init(orgId: org.id, actor: .user(userId), action: "member.added", targetKind: "user", targetId: userId, ip: client.ip, userAgent: client.userAgent, details: ["role": "owner"]),
                on: db
            )
            return org
        }
    }

    /// The organisation as the caller sees it: its fields, member count, the caller's role and permissions.
    public func details(_ access: OrgAccess) async throws -> JSONValue {
        try await details(access.org.id, role: access.role, permissions: access.permissions)
    }

    public func rename(_ access: OrgAccess, name: String, actor: Actor, client: ClientInfo) async throws -> JSONValue {
        try InputRules.validateName(name, field: "name")
        let audit = self.audit
        let orgId = access.org.id
        try await database.transaction { db in
            try await db.raw(
                "UPDATE organizations SET name = \(bind: name), updated_at = \(bind: EpochMillis.now()) WHERE id = \(bind: orgId)"
            ).run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "org.renamed", targetKind: "organization", targetId: orgId, ip: client.ip, userAgent: client.userAgent, details: ["from": .string(access.org.name), "to": .string(name)]),
                on: db
            )
        }
        return try await details(access)
    }

    private func details(_ orgId: String, role: String, permissions: Set<Permission>) async throws -> JSONValue {
        try await database.withConnection { db in
            guard let row = try await db.raw("SELECT id, slug, name, status, created_at FROM organizations WHERE id = \(bind: orgId)").first() else {
                throw APIError.notFound("organization not found", code: "organization_not_found")
            }
            let members = try await db.raw("SELECT user_id FROM memberships WHERE org_id = \(bind: orgId)").all().count
            guard case .object(var fields) = try Self.json(row, role: role) else { return .null }
            fields["permissions"] = Render.permissions(permissions)
            fields["member_count"] = .int(Int64(members))
            return .object(fields)
        }
    }

    static func json(_ row: any SQLRow, role: String?) throws -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(try row.decode(column: "id", as: String.self)),
            "slug": .string(try row.decode(column: "slug", as: String.self)),
            "name": .string(try row.decode(column: "name", as: String.self)),
            "status": .string(try row.decode(column: "status", as: String.self)),
            "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
        ]
        if let role { fields["role"] = .string(role) }
        return .object(fields)
    }
}
