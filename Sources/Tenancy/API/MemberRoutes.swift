import Core
import Hummingbird

/// `/orgs/{org}/members`: list, add an existing account, change a role, remove. The role rules (owners only for
/// the owner role, no granting beyond one's own permissions, never without an owner) are `RoleGrants`'.
public struct MemberRoutes: Sendable {
    private let members: Members

    public init(identity: Identity) {
        self.members = Members(database: identity.database)
    }

    public func register(on api: ManagementRouter) {
        let tag = "members"
        api.add(.get, "/orgs/{org}/members", access: .org(.membersView), tag: tag, summary: "Members and their roles (cursor pagination)") { call in
            let result = try await members.list(orgId: try call.organization().org.id, page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.post, "/orgs/{org}/members", access: .org(.membersManage), tag: tag, summary: "Add an existing account by email with a role",
                body: Schemas.memberAdd, status: .created) { call in
            var call = call
            let body = try await call.body()
            let member = try await members.add(
                email: try body.requiredString("email"), role: try body.requiredString("role"), by: try call.organization(), actor: call.actor, client: call.client
            )
            return JSONResponse.make(member, status: .created)
        }
        api.add(.patch, "/orgs/{org}/members/{user}", access: .org(.membersManage), tag: tag, summary: "Change a member's role",
                body: Schemas.memberChange) { call in
            var call = call
            let body = try await call.body()
            return JSONResponse.make(try await members.changeRole(
                userId: try call.parameter("user"), to: try body.requiredString("role"), by: try call.organization(), actor: call.actor, client: call.client
            ))
        }
        api.add(.delete, "/orgs/{org}/members/{user}", access: .org(.membersManage), tag: tag,
                summary: "Remove a member (their keys stay the organisation's)", status: .noContent) { call in
            try await members.remove(userId: try call.parameter("user"), by: try call.organization(), actor: call.actor, client: call.client)
            return JSONResponse.noContent
        }
    }
}
