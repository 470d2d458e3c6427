import Core
import Hummingbird
import Tenancy

/// `/orgs/{org}/routing/sessions/{session}` (and `/routing/sessions/{session}` for API keys): which upstream an `X-Session-Id` is pinned to, and forgetting it.
public struct RoutingSessionRoutes: Sendable {
    private let stickiness: SessionStickiness

    public init(gateway: GatewayService) {
        self.stickiness = gateway.stickiness
    }

    public func register(on api: ManagementRouter) {
        api.add(.get, "/orgs/{org}/routing/sessions/{session}", access: .org(.routingView), tag: "routing",
                summary: "The upstream a sticky session (X-Session-Id) is pinned to", apiKeys: true) { call in
            let orgId = try call.organization().org.id
            let session = try SessionStickiness.sessionId(try call.parameter("session")) ?? ""
            guard let described = try await stickiness.describe(orgId: orgId, session: session) else {
                throw APIError.notFound("session '\(session)' is not pinned to an upstream", code: "session_not_found")
            }
            return JSONResponse.make(described)
        }
        api.add(.delete, "/orgs/{org}/routing/sessions/{session}", access: .org(.routingManage), tag: "routing",
                summary: "Forget a sticky session; its next request chooses afresh", status: .noContent, apiKeys: true) { call in
            let orgId = try call.organization().org.id
            let session = try SessionStickiness.sessionId(try call.parameter("session")) ?? ""
            guard try await stickiness.forget(orgId: orgId, session: session) else {
                throw APIError.notFound("session '\(session)' is not pinned to an upstream", code: "session_not_found")
            }
            return JSONResponse.noContent
        }
    }
}
