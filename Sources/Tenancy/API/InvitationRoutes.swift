import Core
import Hummingbird

/// Invitations by email: send (the token is in this response only), list the open ones, revoke, accept.
public struct InvitationRoutes: Sendable {
    private let invitations: OrgInvitations

    public init(identity: Identity) {
        self.invitations = OrgInvitations(database: identity.database, invitations: identity.invitations, lifetime: identity.settings.invitationLifetime)
    }

    public func register(on api: ManagementRouter) {
        let tag = "members"
        api.add(.post, "/orgs/{org}/invitations", access: .org(.membersManage), tag: tag,
                summary: "Invite by email with a role; returns the single-use token once", body: Schemas.invitation, status: .created) { call in
            var call = call
            let body = try await call.body()
            let created = try await invitations.invite(
                email: try body.requiredString("email"), role: try body.requiredString("role"), by: try call.organization(),
                userId: try call.user().userId, client: call.client
            )
            return JSONResponse.make(created, status: .created)
        }
        api.add(.get, "/orgs/{org}/invitations", access: .org(.membersView), tag: tag, summary: "Open invitations (never their tokens)") { call in
            let result = try await invitations.pending(orgId: try call.organization().org.id, page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.delete, "/orgs/{org}/invitations/{invitation}", access: .org(.membersManage), tag: tag, summary: "Revoke an open invitation",
                status: .noContent) { call in
            try await invitations.revoke(id: try call.parameter("invitation"), orgId: try call.organization().org.id, actor: call.actor, client: call.client)
            return JSONResponse.noContent
        }
        api.add(.post, "/invitations/{token}/accept", access: .signedIn, tag: tag,
                summary: "Accept an invitation sent to the signed-in user's email") { call in
            JSONResponse.make(try await invitations.accept(token: try call.parameter("token"), user: try call.user(), client: call.client))
        }
    }
}
