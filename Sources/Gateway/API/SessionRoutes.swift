import Core
import Hummingbird
import Tenancy

/// What the gateway keeps per `X-Session-Id`, each shown and forgotten under `/orgs/{org}/…/{session}` (and the same
/// path without `/orgs/{org}` for API keys), scoped to the organisation: the upstream a session is pinned to
/// (`routing/sessions`) and its recent turns (`context`).
public struct SessionRoutes: Sendable {
    private let stickiness: SessionStickiness
    private let context: SessionContext

    public init(gateway: GatewayService) {
        self.stickiness = gateway.stickiness
        self.context = gateway.context
    }

    public func register(on api: ManagementRouter) {
        add(
            on: api, path: "/orgs/{org}/routing/sessions/{session}", missing: "is not pinned to an upstream", code: "session_not_found",
            summaries: ("The upstream a sticky session (X-Session-Id) is pinned to", "Forget a sticky session; its next request chooses afresh"),
            read: stickiness.describe, forget: stickiness.forget
        )
        add(
            on: api, path: "/orgs/{org}/context/{session}", missing: "has no stored context", code: "context_not_found",
            summaries: ("A session's recent turns (X-Session-Id): the latest message and answer of each, truncated", "Forget a session's stored context"),
            read: context.read, forget: context.forget
        )
    }

    /// The caller's organisation and the validated `{session}`.
    private static func target(_ call: ManagementCall) throws -> (orgId: String, session: String) {
        (try call.organization().org.id, try SessionStickiness.sessionId(try call.parameter("session")) ?? "")
    }

    private func add(
        on api: ManagementRouter, path: String, missing: String, code: String, summaries: (read: String, forget: String),
        read: @escaping @Sendable (String, String) async throws -> JSONValue?, forget: @escaping @Sendable (String, String) async throws -> Bool
    ) {
        api.add(.get, path, access: .org(.routingView), tag: "routing", summary: summaries.read, apiKeys: true) { call in
            let (orgId, session) = try Self.target(call)
            guard let found = try await read(orgId, session) else { throw APIError.notFound("session '\(session)' \(missing)", code: code) }
            return JSONResponse.make(found)
        }
        api.add(.delete, path, access: .org(.routingManage), tag: "routing", summary: summaries.forget, status: .noContent, apiKeys: true) { call in
            let (orgId, session) = try Self.target(call)
            guard try await forget(orgId, session) else { throw APIError.notFound("session '\(session)' \(missing)", code: code) }
            return JSONResponse.noContent
        }
    }
}
