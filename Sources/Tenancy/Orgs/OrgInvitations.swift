import Core
import SQLKit

/// The organisation side of invitations: send (with the same role rules as adding a member), list the pending
/// ones (never their tokens), revoke, and accept for a signed-in user. Tokens and single use are `Invitations`'.
public struct OrgInvitations: Sendable {
    private let database: Database
    private let invitations: Invitations
    private let lifetime: Duration
    private let grants = RoleGrants()
    private let directory = Directory()
    private let audit = AuditLog()

    public init(database: Database, invitations: Invitations, lifetime: Duration) {
        self.database = database
        self.invitations = invitations
        self.lifetime = lifetime
    }

    /// The created invitation with its token, which is shown only here.
    public func invite(email rawEmail: String, role: String, by access: OrgAccess, userId: String, client: ClientInfo) async throws -> JSONValue {
        let email = try InputRules.normalizedEmail(rawEmail)
        let (grants, directory, invitations, lifetime) = (self.grants, self.directory, self.invitations, self.lifetime)
        let orgId = access.org.id
        let created = try await database.transaction { db in
            try await grants.checkGrant(role, by: access, on: db)
            if let user = try await directory.user(email: email, on: db), try await directory.role(of: user.id, in: orgId, on: db) != nil {
                throw APIError.conflict("'\(email)' is already a member", code: "already_member")
            }
            return try await invitations.create(orgId: orgId, email: email, role: role, invitedBy: userId, lifetime: lifetime, client: client, on: db)
        }
        return .object([
            "id": .string(created.id), "email": .string(email), "role": .string(role), "expires_at": .int(created.expiresAt),
            "token": .string(created.token), "accept_path": .string("/invitations/\(created.token)/accept"),
        ])
    }

    /// Open invitations (not accepted, revoked or expired), newest first.
    public func pending(orgId: String, page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        let rows = try await database.query(
            """
            SELECT id, email, role, invited_by, expires_at, created_at FROM invitations
            WHERE org_id = \(bind: orgId) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > \(bind: EpochMillis.now())
            AND id < \(bind: page.cursor ?? "~") ORDER BY id DESC LIMIT \(bind: page.limit + 1)
            """
        )
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        let items = try cut.items.map { row -> JSONValue in
            .object([
                "id": .string(try row.decode(column: "id", as: String.self)),
                "email": .string(try row.decode(column: "email", as: String.self)),
                "role": .string(try row.decode(column: "role", as: String.self)),
                "invited_by": Render.string(try row.decode(column: "invited_by", as: String?.self)),
                "expires_at": .int(try row.decode(column: "expires_at", as: Int64.self)),
                "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
            ])
        }
        return (items, cut.next)
    }

    /// Revokes an open invitation of this organisation (404 for other organisations' ids and for used ones).
    public func revoke(id: String, orgId: String, actor: Actor, client: ClientInfo) async throws {
        let audit = self.audit
        try await database.transaction { db in
            let revoked = try await db.raw(
                """
                UPDATE invitations SET revoked_at = \(bind: EpochMillis.now())
                WHERE id = \(bind: id) AND org_id = \(bind: orgId) AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id
                """
            ).all()
            guard !revoked.isEmpty else {
                throw APIError.notFound("invitation '\(id)' not found or no longer open", code: "invitation_not_found")
            }
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "invitation.revoked", targetKind: "invitation", targetId: id, ip: client.ip, userAgent: client.userAgent),
                on: db
            )
        }
    }

    /// Accepts for the signed-in user, whose email must be the invited one. Returns the organisation joined.
    public func accept(token: String, user: Principal, client: ClientInfo) async throws -> JSONValue {
        let invitations = self.invitations
        return try await database.transaction { db in
            let invitation = try await invitations.accept(token: token, userId: user.userId, email: user.email, client: client, on: db)
            guard let org = try await db.raw(
                "SELECT id, slug, name, status, created_at FROM organizations WHERE id = \(bind: invitation.orgId)"
            ).first() else { throw APIError.notFound("organization not found", code: "organization_not_found") }
            let role = try await Directory().role(of: user.userId, in: invitation.orgId, on: db)
            return try Organizations.json(org, role: role ?? invitation.role)
        }
    }
}
