import Core
import SQLKit

/// Platform operators' view of every user and organisation. Disabling a user ends all their sessions (the token
/// version is bumped, so access tokens stop at once) and revokes every API key they created, in one transaction;
/// suspending an organisation refuses its keys and its management routes. Both are announced over shared state so
/// cached API keys are dropped on every instance immediately.
public struct SystemAdministration: Sendable {
    private let database: Database
    private let sessions: LoginSessions
    private let keys: APIKeys
    private let audit = AuditLog()

    public init(database: Database, sessions: LoginSessions, keys: APIKeys) {
        self.database = database
        self.sessions = sessions
        self.keys = keys
    }

    /// Users newest first; `query` filters by a part of the email address.
    public func users(matching query: String?, page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        var sql: SQLQueryString = """
            SELECT u.id, u.email, u.display_name, u.is_system_admin, u.status, u.created_at,
                   (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS org_count
            FROM users u WHERE u.id < \(bind: page.cursor ?? "~")
            """
        if let query, !query.isEmpty { sql += " AND u.email LIKE \(bind: Self.contains(query.lowercased())) ESCAPE '\\'" }
        sql += " ORDER BY u.id DESC LIMIT \(bind: page.limit + 1)"
        let rows = try await database.query(sql)
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        return (try cut.items.map(Self.user), cut.next)
    }

    public struct UserChange: Sendable {
        public var status: String?
        public var isSystemAdmin: Bool?

        public init(status: String?, isSystemAdmin: Bool?) {
            self.status = status
            self.isSystemAdmin = isSystemAdmin
        }
    }

    public func updateUser(id: String, _ change: UserChange, by admin: Principal, client: ClientInfo) async throws -> JSONValue {
        if let status = change.status, !["active", "disabled"].contains(status) {
            throw APIError.badRequest("status must be 'active' or 'disabled'", param: "status", code: "invalid_value")
        }
        if id == admin.userId, change.status == "disabled" || change.isSystemAdmin == false {
            throw APIError.conflict("you cannot disable yourself or drop your own system administrator role", code: "self_lockout")
        }
        let (sessions, keys, audit) = (self.sessions, self.keys, self.audit)
        let actor = admin.actor
        let hashes: [String] = try await database.transaction { db in
            guard let row = try await db.raw("SELECT status, is_system_admin FROM users WHERE id = \(bind: id)").first() else {
                throw APIError.notFound("user '\(id)' not found", code: "user_not_found")
            }
            let now = EpochMillis.now()
            var hashes: [String] = []
            if let status = change.status, status != (try row.decode(column: "status", as: String.self)) {
                try await db.raw("UPDATE users SET status = \(bind: status), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
                try await audit.append(
                    .init(orgId: nil, actor: actor, action: status == "disabled" ? "user.disabled" : "user.enabled", targetKind: "user", targetId: id, ip: client.ip, userAgent: client.userAgent),
                    on: db
                )
                if status == "disabled" {
                    try await sessions.revokeAll(userId: id, keep: nil, reason: "user_disabled", actor: actor, client: client, on: db)
                    hashes = try await keys.revokeAll(createdBy: id, reason: "user_disabled", actor: actor, client: client, on: db)
                }
            }
            if let admin = change.isSystemAdmin, admin != (try row.decode(column: "is_system_admin", as: Bool.self)) {
                try await db.raw("UPDATE users SET is_system_admin = \(bind: admin), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
                try await audit.append(
                    .init(orgId: nil, actor: actor, action: admin ? "user.system_admin_granted" : "user.system_admin_revoked", targetKind: "user", targetId: id, ip: client.ip, userAgent: client.userAgent),
                    on: db
                )
            }
            return hashes
        }
        try await keys.announce(hashes)
        guard let row = try await database.first(
            """
            SELECT u.id, u.email, u.display_name, u.is_system_admin, u.status, u.created_at,
                   (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS org_count
            FROM users u WHERE u.id = \(bind: id)
            """
        ) else { throw APIError.notFound("user '\(id)' not found", code: "user_not_found") }
        var json = try Self.user(row)
        if case .object(var fields) = json {
            fields["api_keys_revoked"] = .int(Int64(hashes.count))
            json = .object(fields)
        }
        return json
    }

    /// Organisations newest first; `query` filters by a part of the slug.
    public func organizations(matching query: String?, page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        var sql: SQLQueryString = """
            SELECT o.id, o.slug, o.name, o.status, o.created_at, (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id) AS member_count
            FROM organizations o WHERE o.id < \(bind: page.cursor ?? "~")
            """
        if let query, !query.isEmpty { sql += " AND o.slug LIKE \(bind: Self.contains(query.lowercased())) ESCAPE '\\'" }
        sql += " ORDER BY o.id DESC LIMIT \(bind: page.limit + 1)"
        let rows = try await database.query(sql)
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        return (try cut.items.map(Self.organization), cut.next)
    }

    /// Suspends or reactivates an organisation (by id or slug).
    public func setOrganizationStatus(_ ref: String, status: String, by admin: Principal, client: ClientInfo) async throws -> JSONValue {
        guard ["active", "suspended"].contains(status) else {
            throw APIError.badRequest("status must be 'active' or 'suspended'", param: "status", code: "invalid_value")
        }
        let (keys, audit) = (self.keys, self.audit)
        let actor = admin.actor
        let (orgId, hashes): (String, [String]) = try await database.transaction { db in
            guard let row = try await db.raw("SELECT id, status FROM organizations WHERE id = \(bind: ref) OR slug = \(bind: ref)").first() else {
                throw APIError.notFound("organization '\(ref)' not found", code: "organization_not_found")
            }
            let orgId = try row.decode(column: "id", as: String.self)
            guard try row.decode(column: "status", as: String.self) != status else { return (orgId, []) }
            try await db.raw("UPDATE organizations SET status = \(bind: status), updated_at = \(bind: EpochMillis.now()) WHERE id = \(bind: orgId)").run()
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: status == "suspended" ? "org.suspended" : "org.reactivated", targetKind: "organization", targetId: orgId, ip: client.ip, userAgent: client.userAgent),
                on: db
            )
            return (orgId, try await keys.activeHashes(orgId: orgId, on: db))
        }
        try await keys.announce(hashes)
        guard let row = try await database.first(
            """
            SELECT o.id, o.slug, o.name, o.status, o.created_at, (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id) AS member_count
            FROM organizations o WHERE o.id = \(bind: orgId)
            """
        ) else { throw APIError.notFound("organization '\(ref)' not found", code: "organization_not_found") }
        return try Self.organization(row)
    }

    /// A LIKE pattern matching `text` anywhere, with the pattern characters escaped.
    static func contains(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }

    static func user(_ row: any SQLRow) throws -> JSONValue {
        .object([
            "id": .string(try row.decode(column: "id", as: String.self)),
            "email": .string(try row.decode(column: "email", as: String.self)),
            "display_name": Render.string(try row.decode(column: "display_name", as: String?.self)),
            "is_system_admin": .bool(try row.decode(column: "is_system_admin", as: Bool.self)),
            "status": .string(try row.decode(column: "status", as: String.self)),
            "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
            "organization_count": .int(try row.decode(column: "org_count", as: Int64.self)),
        ])
    }

    static func organization(_ row: any SQLRow) throws -> JSONValue {
        guard case .object(var fields) = try Organizations.json(row, role: nil) else { return .null }
        fields["member_count"] = .int(try row.decode(column: "member_count", as: Int64.self))
        return .object(fields)
    }
}
