import Core
import SQLKit

/// Invitations by email: an expiring, single-use token (stored only as an HMAC) that makes whoever holds it and
/// signs in with the invited address a member with the invited role.
public struct Invitations: Sendable {
    public struct Created: Sendable {
        public let id: String
        /// Shown once, to be sent to the invitee.
        public let token: String
        public let expiresAt: Int64
    }

    public struct Pending: Sendable, Equatable {
        public let id: String
        public let orgId: String
        public let email: String
        public let role: String
    }

    static let prefix = "ahi-"
    private let keyRing: KeyRing
    private let audit = AuditLog()

    public init(keyRing: KeyRing) {
        self.keyRing = keyRing
    }

    public func create(orgId: String, email: String, role: String, invitedBy: String, lifetime: Duration, client: ClientInfo?, on db: any SQLDatabase) async throws -> Created {
        let token = Self.prefix + RandomToken.base62(length: 40)
        let now = EpochMillis.now()
        let created = Created(id: Identifier.make(), token: token, expiresAt: now + lifetime.milliseconds)
        try await db.raw(
            """
            INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, expires_at, created_at)
            VALUES (\(bind: created.id), \(bind: orgId), \(bind: email), \(bind: role), \(bind: keyRing.hash(token, purpose: .tokenHash)),
                    \(bind: invitedBy), \(bind: created.expiresAt), \(bind: now))
            """
        ).run()
        try await audit.append(
            .init(orgId: orgId, actor: .user(invitedBy), action: "invitation.created", targetKind: "invitation", targetId: created.id, ip: client?.ip, userAgent: client?.userAgent, details: ["email": .string(email), "role": .string(role)]),
            on: db
        )
        return created
    }

    /// The open invitation a token stands for: 404 when unknown, used, revoked or expired (one answer for all,
    /// so tokens cannot be probed).
    public func pending(token: String, on db: any SQLDatabase) async throws -> Pending {
        guard token.hasPrefix(Self.prefix), token.utf8.count < 100,
            let row = try await db.raw(
                """
                SELECT id, org_id, email, role FROM invitations WHERE token_hash = \(bind: keyRing.hash(token, purpose: .tokenHash))
                AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > \(bind: EpochMillis.now())
                """
            ).first()
        else { throw APIError.notFound("invitation not found, already used, or expired", code: "invitation_not_found") }
        return Pending(
            id: try row.decode(column: "id", as: String.self), orgId: try row.decode(column: "org_id", as: String.self),
            email: try row.decode(column: "email", as: String.self), role: try row.decode(column: "role", as: String.self)
        )
    }

    /// Accepts for a user whose email matches the invitation; joins them to the organisation (or changes nothing
    /// if they already are a member). Single use even under concurrency: the row is claimed first.
    public func accept(token: String, userId: String, email: String, client: ClientInfo?, on db: any SQLDatabase) async throws -> Pending {
        let invitation = try await pending(token: token, on: db)
        guard invitation.email == email else {
            throw APIError.forbidden("this invitation was sent to another email address", code: "invitation_email_mismatch")
        }
        let claimed = try await db.raw(
            """
            UPDATE invitations SET accepted_at = \(bind: EpochMillis.now()), accepted_by = \(bind: userId)
            WHERE id = \(bind: invitation.id) AND accepted_at IS NULL RETURNING id
            """
        ).all()
        guard !claimed.isEmpty else { throw APIError.notFound("invitation not found, already used, or expired", code: "invitation_not_found") }
        let directory = Directory()
        if try await directory.role(of: userId, in: invitation.orgId, on: db) == nil {
            try await directory.addMember(userId: userId, orgId: invitation.orgId, role: invitation.role, on: db)
        }
        try await audit.append(
            .init(orgId: invitation.orgId, actor: .user(userId), action: "invitation.accepted", targetKind: "invitation", targetId: invitation.id, ip: client?.ip, userAgent: client?.userAgent, details: ["role": .string(invitation.role)]),
            on: db
        )
        return invitation
    }
}
