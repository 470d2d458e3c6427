import Core
import Hummingbird
import Tenancy

/// `/orgs/{org}/context/{session}` (and `/context/{session}` for API keys): a sticky session's recent turns.
public struct SessionContextRoutes: Sendable {
    private let context: SessionContext

    public init(gateway: GatewayService) {
        self.context = gateway.context
    }

    public func register(on api: ManagementRouter) {
        api.add(.get, "/orgs/{org}/context/{session}", access: .org(.routingView), tag: "routing",
                summary: "A session's recent turns (X-Session-Id): the latest message and answer of each, truncated", apiKeys: true) { call in
            let orgId = try call.organization().org.id
            let session = try SessionStickiness.sessionId(try call.parameter("session")) ?? ""
            guard let turns = try await context.read(orgId: orgId, session: session) else {
                throw APIError.notFound("session '\(session)' has no stored context", code: "context_not_found")
            }
            return JSONResponse.make(turns)
        }
        api.add(.delete, "/orgs/{org}/context/{session}", access: .org(.routingManage), tag: "routing",
                summary: "Forget a session's stored context", status: .noContent, apiKeys: true) { call in
            let orgId = try call.organization().org.id
            let session = try SessionStickiness.sessionId(try call.parameter("session")) ?? ""
            guard try await context.forget(orgId: orgId, session: session) else {
                throw APIError.notFound("session '\(session)' has no stored context", code: "context_not_found")
            }
            return JSONResponse.noContent
        }
    }
}
