import Core
import Hummingbird

/// `/system/…`: platform operators manage every user and organisation.
public struct SystemRoutes: Sendable {
    private let administration: SystemAdministration

    public init(identity: Identity) {
        self.administration = SystemAdministration(
            database: identity.database, sessions: identity.sessions,
            keys: APIKeys(database: identity.database, keyRing: identity.keyRing, sharedState: identity.sharedState)
        )
    }

    public func register(on api: ManagementRouter) {
        let tag = "system"
        api.add(.get, "/system/users", access: .system, tag: tag, summary: "Every user (q: part of the email; cursor pagination)") { call in
            let result = try await administration.users(matching: call.query("q"), page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.patch, "/system/users/{user}", access: .system, tag: tag,
                summary: "Enable or disable a user (disabling ends their sessions and revokes their keys), or change system administration",
                body: Schemas.systemUserChange) { call in
            var call = call
            let body = try await call.body()
            let change = SystemAdministration.UserChange(status: try body.string("status"), isSystemAdmin: try body.bool("is_system_admin"))
            return JSONResponse.make(try await administration.updateUser(id: try call.parameter("user"), change, by: try call.user(), client: call.client))
        }
        api.add(.get, "/system/orgs", access: .system, tag: tag, summary: "Every organisation (q: part of the slug; cursor pagination)") { call in
            let result = try await administration.organizations(matching: call.query("q"), page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.patch, "/system/orgs/{org}", access: .system, tag: tag, summary: "Suspend or reactivate an organisation (its keys stop at once)",
                body: Schemas.systemOrgChange) { call in
            var call = call
            let body = try await call.body()
            return JSONResponse.make(try await administration.setOrganizationStatus(
                try call.parameter("org"), status: try body.requiredString("status"), by: try call.user(), client: call.client
            ))
        }
    }
}
