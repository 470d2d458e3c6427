import Core
import Hummingbird

/// `/orgs/{org}/api-keys`: list (never secrets), create and rotate (the secret is in that response only), revoke.
public struct APIKeyRoutes: Sendable {
    private let keys: APIKeys

    public init(identity: Identity) {
        self.keys = APIKeys(database: identity.database, keyRing: identity.keyRing, sharedState: identity.sharedState)
    }

    public func register(on api: ManagementRouter) {
        let tag = "api-keys"
        api.add(.get, "/orgs/{org}/api-keys", access: .org(.keysView), tag: tag, summary: "The organisation's API keys (prefixes, never secrets)") { call in
            let result = try await keys.list(orgId: try call.organization().org.id, page: try PageRequest(call))
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.post, "/orgs/{org}/api-keys", access: .org(.keysManage), tag: tag, summary: "Create an API key; the secret is shown once",
                body: Schemas.apiKeyCreate, status: .created) { call in
            var call = call
            let body = try await call.body()
            let settings = APIKeys.Settings(
                name: try body.requiredString("name"),
                expiresInSeconds: try body.string("expires_in").map { text throws(APIError) in try InputRules.duration(text, field: "expires_in") },
                allowedModels: try body.strings("allowed_models"), allowedProviders: try body.strings("allowed_providers"),
                rateLimits: try body.objectField("rate_limits").map { fields throws(APIError) in try APIKeys.RateLimits(fields) }
            )
            let orgId = try call.organization().org.id
            let created = try await keys.create(orgId: orgId, settings, createdBy: try call.user().userId, client: call.client)
            return try await secretResponse(created, orgId: orgId)
        }
        api.add(.delete, "/orgs/{org}/api-keys/{key}", access: .org(.keysManage), tag: tag, summary: "Revoke an API key (refused everywhere within seconds)",
                status: .noContent) { call in
            try await keys.revoke(id: try call.parameter("key"), orgId: try call.organization().org.id, actor: call.actor, client: call.client)
            return JSONResponse.noContent
        }
        api.add(.post, "/orgs/{org}/api-keys/{key}/rotate", access: .org(.keysManage), tag: tag,
                summary: "Replace a key with a new one with the same settings; the old one stops at once", status: .created) { call in
            let orgId = try call.organization().org.id
            let created = try await keys.rotate(id: try call.parameter("key"), orgId: orgId, by: try call.user().userId, client: call.client)
            return try await secretResponse(created, orgId: orgId)
        }
    }

    /// The key as listed, plus its secret (this once).
    private func secretResponse(_ created: APIKeys.Created, orgId: String) async throws -> Response {
        guard case .object(var fields) = try await keys.describe(id: created.id, orgId: orgId) else { return JSONResponse.noContent }
        fields["key"] = .string(created.key)
        return JSONResponse.make(.object(fields), status: .created)
    }
}
