import Core
import Hummingbird

/// `/orgs`: the caller's organisations, creating one, reading and renaming it.
public struct OrganizationRoutes: Sendable {
    private let organizations: Organizations

    public init(identity: Identity) {
        self.organizations = Organizations(database: identity.database, settings: identity.settings)
    }

    public func register(on api: ManagementRouter) {
        let tag = "organizations"
        api.add(.get, "/orgs", access: .signedIn, tag: tag, summary: "The signed-in user's organisations with their role") { call in
            JSONResponse.object(["data": .array(try await organizations.list(userId: try call.user().userId))])
        }
        api.add(.post, "/orgs", access: .signedIn, tag: tag, summary: "Create an organisation; the caller becomes its owner",
                body: Schemas.createOrganization, status: .created) { call in
            var call = call
            let body = try await call.body()
            let created = try await organizations.create(
                slug: try body.requiredString("slug"), name: try body.string("name"), userId: try call.user().userId, client: call.client
            )
            return JSONResponse.make(created, status: .created)
        }
        api.add(.get, "/orgs/{org}", access: .org(.orgView), tag: tag, summary: "The organisation, with the caller's role and permissions") { call in
            JSONResponse.make(try await organizations.details(try call.organization()))
        }
        api.add(.patch, "/orgs/{org}", access: .org(.orgManage), tag: tag, summary: "Rename the organisation", body: Schemas.updateOrganization) { call in
            var call = call
            let body = try await call.body()
            return JSONResponse.make(
                try await organizations.rename(try call.organization(), name: try body.requiredString("name"), actor: call.actor, client: call.client)
            )
        }
    }
}

extension Schemas {
    static let createOrganization = object(required: ["slug"], ["slug": string, "name": string])
    static let updateOrganization = object(required: ["name"], ["name": string])
    static let memberAdd = object(required: ["email", "role"], ["email": string, "role": string])
    static let memberChange = object(required: ["role"], ["role": string])
    static let invitation = object(required: ["email", "role"], ["email": string, "role": string])
    static let roleCreate = object(required: ["name", "permissions"], ["name": string, "description": string, "permissions": stringList])
    static let roleChange = object(["name": string, "description": string, "permissions": stringList])
    static let apiKeyCreate = object(required: ["name"], [
        "name": string,
        "expires_in": .object(["type": "string", "description": "Lifetime such as 30d, 12h, 90m, 45s or 2w; default never"]),
        "allowed_models": stringList,
        "allowed_providers": .object(["type": "array", "items": string, "description": "Provider slugs"]),
        "rate_limits": object([
            "requests_per_minute": integer, "tokens_per_minute": integer, "concurrent_requests": integer,
        ]),
    ])
    static let systemUserChange = object([
        "status": .object(["type": "string", "enum": .array(["active", "disabled"])]), "is_system_admin": boolean,
    ])
    static let systemOrgChange = object(required: ["status"], ["status": .object(["type": "string", "enum": .array(["active", "suspended"])])])
}

extension Fields {
    /// A list of strings, or nil when absent.
    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let items = try array(key) else { return nil }
        var out: [String] = []
        for item in items {
            guard let text = item.stringValue else { throw invalid(key, "must be a list of strings") }
            out.append(text)
        }
        return out
    }
}
