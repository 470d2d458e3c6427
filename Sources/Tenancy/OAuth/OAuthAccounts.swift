import Core
import SQLKit

/// Turns a provider identity into a user: an existing link, else an existing account with the same email when the
/// provider asserts the email is verified, else a new account (open registration only). Explicit linking attaches
/// an identity to a signed-in user.
public struct OAuthAccounts: Sendable {
    private let database: Database
    private let settings: AuthSettings
    private let directory = Directory()
    private let audit = AuditLog()

    public init(database: Database, settings: AuthSettings) {
        self.database = database
        self.settings = settings
    }

    /// The user to sign in as `identity` from `provider`; creates or links as described above.
    public func userForSignIn(provider: String, identity: ProviderIdentity, client: ClientInfo) async throws -> String {
        let (directory, audit, openRegistration) = (self.directory, self.audit, settings.openRegistration)
        return try await database.transaction { db in
            let now = EpochMillis.now()
            if let linked = try await Self.linkedUser(provider: provider, subject: identity.subject, on: db) {
                try await db.raw(
                    """
                    UPDATE oauth_identities SET last_login_at = \(bind: now), email = \(bind: identity.email)
                    WHERE provider = \(bind: provider) AND subject = \(bind: identity.subject)
                    """
                ).run()
                try Self.requireActive(linked.status)
                return linked.id
            }
            guard let rawEmail = identity.email, let email = try? InputRules.normalizedEmail(rawEmail) else {
                throw APIError.badRequest(
                    "the identity provider did not share an email address; allow the email scope and try again", code: "oauth_email_required"
                )
            }
            if let existing = try await directory.user(email: email, on: db) {
                guard identity.emailVerified else {
                    throw APIError.conflict(
                        "an account with this email already exists and the provider does not confirm the email is verified; "
                            + "sign in to that account and link the provider from there", code: "oauth_email_not_verified"
                    )
                }
                try Self.requireActive(existing.status)
                try await Self.insertLink(provider: provider, identity: identity, userId: existing.id, now: now, on: db)
                try await db.raw("UPDATE users SET email_verified = \(bind: true), updated_at = \(bind: now) WHERE id = \(bind: existing.id)").run()
                try await audit.append(
                    .init(orgId: nil, actor: .user(existing.id), action: "oauth.linked", targetKind: "user", targetId: existing.id, ip: client.ip,
                          userAgent: client.userAgent, details: ["provider": .string(provider), "via": "verified_email"]),
                    on: db
                )
                return existing.id
            }
            guard openRegistration else {
                throw APIError.forbidden("registration is by invitation only; ask an administrator for an invitation", code: "registration_closed")
            }
            let name = identity.displayName.map { String($0.trimmingCharacters(in: .whitespaces).prefix(200)) }.flatMap { $0.isEmpty ? nil : $0 }
            let user = try await directory.createUser(
                email: email, passwordHash: nil, systemAdmin: false, displayName: name, emailVerified: identity.emailVerified, on: db
            )
            try await Self.insertLink(provider: provider, identity: identity, userId: user.id, now: now, on: db)
            try await audit.append(
                .init(orgId: nil, actor: .user(user.id), action: "user.registered", targetKind: "user", targetId: user.id, ip: client.ip,
                      userAgent: client.userAgent, details: ["method": .string("oauth:\(provider)")]),
                on: db
            )
            try await audit.append(
                .init(orgId: nil, actor: .user(user.id), action: "oauth.linked", targetKind: "user", targetId: user.id, ip: client.ip,
                      userAgent: client.userAgent, details: ["provider": .string(provider), "via": "registration"]),
                on: db
            )
            return user.id
        }
    }

    /// Links `identity` to `userId` (a signed-in user's explicit request). 409 when it belongs to someone else.
    public func link(provider: String, identity: ProviderIdentity, userId: String, client: ClientInfo) async throws {
        let audit = self.audit
        try await database.transaction { db in
            guard let user = try await db.raw("SELECT status FROM users WHERE id = \(bind: userId)").first() else {
                throw APIError.notFound("user not found", code: "user_not_found")
            }
            try Self.requireActive(try user.decode(column: "status", as: String.self))
            let now = EpochMillis.now()
            if let linked = try await Self.linkedUser(provider: provider, subject: identity.subject, on: db) {
                guard linked.id == userId else {
                    throw APIError.conflict("this \(provider) account is already linked to another user", code: "oauth_identity_taken")
                }
                try await db.raw(
                    "UPDATE oauth_identities SET last_login_at = \(bind: now) WHERE provider = \(bind: provider) AND subject = \(bind: identity.subject)"
                ).run()
                return
            }
            try await Self.insertLink(provider: provider, identity: identity, userId: userId, now: now, on: db)
            try await audit.append(
                .init(orgId: nil, actor: .user(userId), action: "oauth.linked", targetKind: "user", targetId: userId, ip: client.ip,
                      userAgent: client.userAgent, details: ["provider": .string(provider), "via": "explicit"]),
                on: db
            )
        }
    }

    /// `login.failed` with the reason, written in its own transaction (nothing else happened).
    public func recordFailure(provider: String, reason: String, userId: String?, client: ClientInfo) async {
        let audit = self.audit
        _ = try? await database.transaction { db in
            try await audit.append(
                .init(orgId: nil, actor: userId.map(Actor.user) ?? Actor(kind: "anonymous", id: nil), action: "login.failed", targetKind: "user",
                      targetId: userId, ip: client.ip, userAgent: client.userAgent,
                      details: ["method": .string("oauth:\(provider)"), "reason": .string(reason)]),
                on: db
            )
        }
    }

    private static func linkedUser(provider: String, subject: String, on db: any SQLDatabase) async throws -> (id: String, status: String)? {
        guard let row = try await db.raw(
            """
            SELECT u.id, u.status FROM oauth_identities i JOIN users u ON u.id = i.user_id
            WHERE i.provider = \(bind: provider) AND i.subject = \(bind: subject)
            """
        ).first() else { return nil }
        return (try row.decode(column: "id", as: String.self), try row.decode(column: "status", as: String.self))
    }

    private static func insertLink(provider: String, identity: ProviderIdentity, userId: String, now: Int64, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO oauth_identities (provider, subject, user_id, email, created_at, last_login_at)
            VALUES (\(bind: provider), \(bind: identity.subject), \(bind: userId), \(bind: identity.email), \(bind: now), \(bind: now))
            """
        ).run()
    }

    private static func requireActive(_ status: String) throws(APIError) {
        guard status == "active" else { throw APIError.forbidden("this account is disabled", code: "account_disabled") }
    }
}
