import Core
import SQLKit

/// Custom roles of one organisation: a name (not a built-in one), a description and a set of permissions.
/// Memberships and invitations refer to roles by name, so a rename carries them along. A non-owner may only put
/// permissions they hold into a role.
public struct CustomRoles: Sendable {
    public struct Change: Sendable {
        public var name: String?
        public var description: String??
        public var permissions: [String]?

        public init(name: String?, description: String??, permissions: [String]?) {
            self.name = name
            self.description = description
            self.permissions = permissions
        }
    }

    private let database: Database
    private let audit = AuditLog()

    public init(database: Database) {
        self.database = database
    }

    /// Built-in roles first, then the organisation's custom roles by name.
    public func list(orgId: String) async throws -> [JSONValue] {
        let builtIn = BuiltInRole.allCases.map { role -> JSONValue in
            .object([
                "id": .string(role.rawValue), "name": .string(role.rawValue), "description": .string(role.summary), "built_in": true,
                "permissions": Render.permissions(role.permissions),
            ])
        }
        let rows = try await database.query(
            "SELECT id, name, description, permissions, created_at, updated_at FROM roles WHERE org_id = \(bind: orgId) ORDER BY name"
        )
        return builtIn + (try rows.map(Self.json))
    }

    public func create(name: String, description: String?, permissions names: [String], by access: OrgAccess, actor: Actor, client: ClientInfo) async throws -> JSONValue {
        try Self.validate(name: name)
        if let description { try Self.validate(description: description) }
        let permissions = try Permission.parseList(names, field: "permissions")
        try RoleGrants.checkWithin(permissions, by: access)
        let id = Identifier.make()
        let orgId = access.org.id
        let audit = self.audit
        try await database.transaction { db in
            // Serialise role and membership changes of the organisation (two creates of one name, a delete racing an assignment).
            try await RoleGrants().lockMemberships(orgId: orgId, on: db)
            guard try await db.raw("SELECT id FROM roles WHERE org_id = \(bind: orgId) AND name = \(bind: name)").first() == nil else {
                throw APIError.conflict("a role named '\(name)' exists already", code: "role_exists")
            }
            let now = EpochMillis.now()
            try await db.raw(
                """
                INSERT INTO roles (id, org_id, name, description, permissions, created_at, updated_at)
                VALUES (\(bind: id), \(bind: orgId), \(bind: name), \(bind: description), \(bind: RoleCatalog.encodePermissions(permissions)),
                        \(bind: now), \(bind: now))
                """
            ).run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "role.created", targetKind: "role", targetId: id, ip: client.ip, userAgent: client.userAgent, details: ["name": .string(name), "permissions": Render.permissions(permissions)]),
                on: db
            )
        }
        return try await role(id: id, orgId: orgId)
    }

    public func update(id: String, _ change: Change, by access: OrgAccess, actor: Actor, client: ClientInfo) async throws -> JSONValue {
        if let name = change.name { try Self.validate(name: name) }
        if let description = change.description, let text = description { try Self.validate(description: text) }
        let permissions = try change.permissions.map { names throws(APIError) in try Permission.parseList(names, field: "permissions") }
        if let permissions { try RoleGrants.checkWithin(permissions, by: access) }
        let orgId = access.org.id
        let audit = self.audit
        try await database.transaction { db in
            // Serialise role and membership changes of the organisation (two creates of one name, a delete racing an assignment).
            try await RoleGrants().lockMemberships(orgId: orgId, on: db)
            guard let row = try await db.raw(
                "SELECT name, description, permissions FROM roles WHERE id = \(bind: id) AND org_id = \(bind: orgId)"
            ).first() else { throw Self.notFound(id) }
            // A role holding more than the caller may hand out is an owner's (or a broader manager's) to change.
            try RoleGrants.checkWithin(RoleCatalog.decodePermissions(try row.decode(column: "permissions", as: String.self)), by: access)
            let oldName = try row.decode(column: "name", as: String.self)
            let newName = change.name ?? oldName
            if newName != oldName {
                guard try await db.raw("SELECT id FROM roles WHERE org_id = \(bind: orgId) AND name = \(bind: newName)").first() == nil else {
                    throw APIError.conflict("a role named '\(newName)' exists already", code: "role_exists")
                }
                try await db.raw("UPDATE memberships SET role = \(bind: newName) WHERE org_id = \(bind: orgId) AND role = \(bind: oldName)").run()
                try await db.raw(
                    "UPDATE invitations SET role = \(bind: newName) WHERE org_id = \(bind: orgId) AND role = \(bind: oldName) AND accepted_at IS NULL"
                ).run()
            }
            let description = try change.description ?? row.decode(column: "description", as: String?.self)
            let stored = try permissions.map(RoleCatalog.encodePermissions) ?? row.decode(column: "permissions", as: String.self)
            try await db.raw(
                """
                UPDATE roles SET name = \(bind: newName), description = \(bind: description), permissions = \(bind: stored),
                    updated_at = \(bind: EpochMillis.now()) WHERE id = \(bind: id) AND org_id = \(bind: orgId)
                """
            ).run()
            var details: [String: JSONValue] = ["name": .string(newName)]
            if newName != oldName { details["renamed_from"] = .string(oldName) }
            if let permissions { details["permissions"] = Render.permissions(permissions) }
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "role.updated", targetKind: "role", targetId: id, ip: client.ip, userAgent: client.userAgent, details: details),
                on: db
            )
        }
        return try await role(id: id, orgId: orgId)
    }

    /// 409 while a member holds the role or an open invitation names it.
    public func delete(id: String, by access: OrgAccess, actor: Actor, client: ClientInfo) async throws {
        let audit = self.audit
        let orgId = access.org.id
        try await database.transaction { db in
            // Serialise role and membership changes of the organisation (two creates of one name, a delete racing an assignment).
            try await RoleGrants().lockMemberships(orgId: orgId, on: db)
            guard let row = try await db.raw("SELECT name, permissions FROM roles WHERE id = \(bind: id) AND org_id = \(bind: orgId)").first() else {
                throw Self.notFound(id)
            }
            try RoleGrants.checkWithin(RoleCatalog.decodePermissions(try row.decode(column: "permissions", as: String.self)), by: access)
            let name = try row.decode(column: "name", as: String.self)
            if try await db.raw("SELECT user_id FROM memberships WHERE org_id = \(bind: orgId) AND role = \(bind: name) LIMIT 1").first() != nil {
                throw APIError.conflict("members still hold the role '\(name)'; give them another role first", code: "role_in_use")
            }
            if try await db.raw(
                """
                SELECT id FROM invitations WHERE org_id = \(bind: orgId) AND role = \(bind: name) AND accepted_at IS NULL
                AND revoked_at IS NULL AND expires_at > \(bind: EpochMillis.now()) LIMIT 1
                """
            ).first() != nil {
                throw APIError.conflict("open invitations name the role '\(name)'; revoke them first", code: "role_in_use")
            }
            try await db.raw("DELETE FROM roles WHERE id = \(bind: id) AND org_id = \(bind: orgId)").run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "role.deleted", targetKind: "role", targetId: id, ip: client.ip, userAgent: client.userAgent, details: ["name": .string(name)]),
                on: db
            )
        }
    }

    private func role(id: String, orgId: String) async throws -> JSONValue {
        guard let row = try await database.first(
            "SELECT id, name, description, permissions, created_at, updated_at FROM roles WHERE id = \(bind: id) AND org_id = \(bind: orgId)"
        ) else { throw Self.notFound(id) }
        return try Self.json(row)
    }

    /// Lowercase letters, digits, dashes and underscores, 1–64 characters, not a built-in role's name.
    static func validate(name: String) throws(APIError) {
        let bytes = Array(name.utf8)
        let ok = (1...64).contains(bytes.count)
            && bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
        guard ok else {
            throw .badRequest("role name must be 1-64 lowercase letters, digits, dashes or underscores", param: "name", code: "invalid_value")
        }
        guard BuiltInRole(rawValue: name) == nil else {
            throw .badRequest("'\(name)' is a built-in role; pick another name", param: "name", code: "reserved_role_name")
        }
    }

    static func validate(description: String) throws(APIError) {
        guard description.count <= 500 else { throw .badRequest("description must be at most 500 characters", param: "description") }
    }

    static func notFound(_ id: String) -> APIError {
        .notFound("role '\(id)' not found in this organization", code: "role_not_found")
    }

    static func json(_ row: any SQLRow) throws -> JSONValue {
        .object([
            "id": .string(try row.decode(column: "id", as: String.self)),
            "name": .string(try row.decode(column: "name", as: String.self)),
            "description": Render.string(try row.decode(column: "description", as: String?.self)),
            "built_in": false,
            "permissions": Render.permissions(RoleCatalog.decodePermissions(try row.decode(column: "permissions", as: String.self))),
            "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
            "updated_at": .int(try row.decode(column: "updated_at", as: Int64.self)),
        ])
    }
}
