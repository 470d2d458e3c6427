import Core
import SQLKit

/// Registration, password sign-in and password changes.
public struct Accounts: Sendable {
    private let database: Database
    private let passwords: PasswordHasher
    private let throttle: LoginThrottle
    private let sessions: LoginSessions
    private let invitations: Invitations
    private let settings: AuthSettings
    /// Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
    private let decoyHash: String
    private let audit = AuditLog()
    private let directory = Directory()

    public init(
        database: Database, passwords: PasswordHasher, throttle: LoginThrottle, sessions: LoginSessions, invitations: Invitations,
        settings: AuthSettings, decoyHash: String
    ) {
        self.database = database
        self.passwords = passwords
        self.throttle = throttle
        self.sessions = sessions
        self.invitations = invitations
        self.settings = settings
        self.decoyHash = decoyHash
    }

    public struct Registration: Sendable {
        public var email: String
        public var password: String
        public var displayName: String?
        public var invitationToken: String?

        public init(email: String, password: String, displayName: String?, invitationToken: String?) {
            self.email = email
            self.password = password
            self.displayName = displayName
            self.invitationToken = invitationToken
        }
    }

    /// Open registration, or with an invitation for this email (which also makes the new user a member).
    public func register(_ registration: Registration, client: ClientInfo, deviceToken: String) async throws -> IssuedTokens {
        let email = try InputRules.normalizedEmail(registration.email)
        try InputRules.validatePassword(registration.password)
        if let name = registration.displayName { try InputRules.validateName(name, field: "display_name") }
        guard settings.openRegistration || registration.invitationToken != nil else {
            throw APIError.forbidden("registration is by invitation only", code: "registration_closed")
        }
        let hash = try await passwords.hash(registration.password)
        let (directory, invitations, audit) = (self.directory, self.invitations, self.audit)
        let userId: String = try await database.transaction { db in
            if let token = registration.invitationToken {
                // Checked before the user exists so a bad token leaves nothing behind.
                let invitation = try await invitations.pending(token: token, on: db)
                guard invitation.email == email else {
                    throw APIError.forbidden("this invitation was sent to another email address", code: "invitation_email_mismatch")
                }
            }
            guard try await directory.user(email: email, on: db) == nil else {
                throw APIError.conflict("an account with this email already exists; sign in instead", code: "email_taken")
            }
            let user = try await directory.createUser(email: email, passwordHash: hash, systemAdmin: false, displayName: registration.displayName, on: db)
            try await audit.append(
                .init(orgId: nil, actor: .user(user.id), action: "user.registered", targetKind: "user", targetId: user.id, ip: client.ip, userAgent: client.userAgent),
                on: db
            )
            if let token = registration.invitationToken {
                _ = try await invitations.accept(token: token, userId: user.id, email: email, client: client, on: db)
            }
            return user.id
        }
        return try await sessions.start(userId: userId, method: "register", client: client, deviceToken: deviceToken)
    }

    public func login(email rawEmail: String, password: String, client: ClientInfo, deviceToken: String) async throws -> IssuedTokens {
        let email = (try? InputRules.normalizedEmail(rawEmail)) ?? rawEmail.lowercased()
        try await throttle.check(email: email, ip: client.ip)
        let row = try await database.first("SELECT id, password_hash, status FROM users WHERE email = \(bind: email)")
        let userId = try row?.decode(column: "id", as: String.self)
        let stored = try row?.decode(column: "password_hash", as: String?.self)
        let matches = try await passwords.verify(password, against: stored ?? decoyHash) && stored != nil
        guard matches, let userId else {
            let locked = try await throttle.failed(email: email, ip: client.ip)
            let audit = self.audit
            try await database.transaction { db in
                try await audit.append(
                    .init(orgId: nil, actor: userId.map(Actor.user) ?? Actor(kind: "anonymous", id: nil), action: "login.failed", targetKind: "user", targetId: userId, ip: client.ip, userAgent: client.userAgent, details: ["locked": .bool(locked)]),
                    on: db
                )
            }
            throw APIError.unauthorized("email or password is wrong", code: "invalid_credentials")
        }
        guard try row?.decode(column: "status", as: String.self) == "active" else {
            throw APIError.forbidden("this account is disabled", code: "account_disabled")
        }
        try await throttle.succeeded(email: email, ip: client.ip)
        return try await sessions.start(userId: userId, method: "password", client: client, deviceToken: deviceToken)
    }

    /// Changes the password and ends every other session of the user.
    public func changePassword(userId: String, sessionId: String, current: String, new: String, client: ClientInfo) async throws {
        try InputRules.validatePassword(new)
        guard let stored = try await database.first("SELECT password_hash FROM users WHERE id = \(bind: userId)")?
            .decode(column: "password_hash", as: String?.self)
        else { throw APIError.conflict("this account signs in with an identity provider and has no password", code: "no_password") }
        guard try await passwords.verify(current, against: stored) else {
            throw APIError.forbidden("current password is wrong", code: "invalid_credentials")
        }
        let hash = try await passwords.hash(new)
        let (audit, sessions) = (self.audit, self.sessions)
        try await database.transaction { db in
            try await db.raw("UPDATE users SET password_hash = \(bind: hash), updated_at = \(bind: EpochMillis.now()) WHERE id = \(bind: userId)").run()
            try await audit.append(.init(orgId: nil, actor: .user(userId), action: "user.password_changed", targetKind: "user", targetId: userId, ip: client.ip, userAgent: client.userAgent), on: db)
            try await sessions.revokeAll(userId: userId, keep: sessionId, reason: "password_changed", actor: .user(userId), client: client, on: db)
        }
    }

    /// The signed-in user and their organisations with role and permissions.
    public func profile(userId: String) async throws -> JSONValue {
        try await database.withConnection { db in
            guard let user = try await db.raw(
                "SELECT id, email, display_name, is_system_admin, status, created_at FROM users WHERE id = \(bind: userId)"
            ).first() else { throw APIError.notFound("user not found", code: "user_not_found") }
            let rows = try await db.raw(
                """
                SELECT o.id, o.slug, o.name, o.status, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
                WHERE m.user_id = \(bind: userId) ORDER BY o.slug
                """
            ).all()
            var orgs: [JSONValue] = []
            for row in rows {
                let orgId = try row.decode(column: "id", as: String.self)
                let role = try row.decode(column: "role", as: String.self)
                let permissions = try await RoleCatalog().permissions(role: role, orgId: orgId, on: db)
                orgs.append(.object([
                    "id": .string(orgId), "slug": .string(try row.decode(column: "slug", as: String.self)),
                    "name": .string(try row.decode(column: "name", as: String.self)),
                    "status": .string(try row.decode(column: "status", as: String.self)), "role": .string(role),
                    "permissions": .array(permissions.sorted().map { .string($0.rawValue) }),
                ]))
            }
            return .object([
                "id": .string(try user.decode(column: "id", as: String.self)),
                "email": .string(try user.decode(column: "email", as: String.self)),
                "display_name": (try user.decode(column: "display_name", as: String?.self)).map(JSONValue.string) ?? .null,
                "is_system_admin": .bool(try user.decode(column: "is_system_admin", as: Bool.self)),
                "status": .string(try user.decode(column: "status", as: String.self)),
                "created_at": .int(try user.decode(column: "created_at", as: Int64.self)),
                "organizations": .array(orgs),
            ])
        }
    }
}
