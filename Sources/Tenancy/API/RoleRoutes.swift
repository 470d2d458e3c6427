import Core
import Hummingbird

/// `/orgs/{org}/roles`: the built-in roles and the organisation's custom roles.
public struct RoleRoutes: Sendable {
    private let roles: CustomRoles

    public init(identity: Identity) {
        self.roles = CustomRoles(database: identity.database)
    }

    public func register(on api: ManagementRouter) {
        let tag = "roles"
        api.add(.get, "/orgs/{org}/roles", access: .org(.membersView), tag: tag, summary: "Built-in and custom roles with their permissions") { call in
            JSONResponse.object(["data": .array(try await roles.list(orgId: try call.organization().org.id))])
        }
        api.add(.post, "/orgs/{org}/roles", access: .org(.rolesManage), tag: tag, summary: "Create a custom role",
                body: Schemas.roleCreate, status: .created) { call in
            var call = call
            let body = try await call.body()
            let role = try await roles.create(
                name: try body.requiredString("name"), description: try body.string("description"),
                permissions: try body.strings("permissions") ?? { _ = try body.required("permissions"); return [] }(),
                by: try call.organization(), actor: call.actor, client: call.client
            )
            return JSONResponse.make(role, status: .created)
        }
        api.add(.patch, "/orgs/{org}/roles/{role}", access: .org(.rolesManage), tag: tag, summary: "Rename a custom role or change its permissions",
                body: Schemas.roleChange) { call in
            var call = call
            let body = try await call.body()
            var description: String??
            if let value = body.object["description"] { description = .some(value == .null ? nil : try body.string("description")) }
            let change = CustomRoles.Change(name: try body.string("name"), description: description, permissions: try body.strings("permissions"))
            return JSONResponse.make(
                try await roles.update(id: try call.parameter("role"), change, by: try call.organization(), actor: call.actor, client: call.client)
            )
        }
        api.add(.delete, "/orgs/{org}/roles/{role}", access: .org(.rolesManage), tag: tag, summary: "Delete a custom role nobody holds",
                status: .noContent) { call in
            try await roles.delete(id: try call.parameter("role"), by: try call.organization(), actor: call.actor, client: call.client)
            return JSONResponse.noContent
        }
    }
}
