import Core
import Hummingbird
import Tenancy

/// `POST /orgs/{org}/routing/decide` (and `/routing/decide` for API keys): a dry run of routing for a model.
public struct RoutingDecisionRoutes: Sendable {
    private let dryRun: RoutingDryRun

    public init(gateway: GatewayService) {
        let engine = gateway.engine
        dryRun = RoutingDryRun(resolver: engine.resolver, planner: engine.planner, resilience: engine.resilience, stickiness: engine.stickiness)
    }

    static let schema: JSONValue = .object([
        "type": "object", "required": .array(["model"]),
        "properties": .object([
            "model": .object(["type": "string", "description": "A model id, provider/model, or a logical model name"]),
            "strategy": .object(["type": "string", "enum": .array(RoutingStrategy.allCases.map { .string($0.rawValue) })]),
            "session_id": .object(["type": "string", "description": "An X-Session-Id, to see its pin applied"]),
        ]),
    ])

    public func register(on api: ManagementRouter) {
        api.add(.post, "/orgs/{org}/routing/decide", access: .org(.routingView), tag: "routing",
                summary: "Dry run: the upstream routing would choose for a model, every candidate's score and why any is excluded",
                body: Self.schema, apiKeys: true) { call in
            var call = call
            let org = try call.organization().org
            let body = try await call.body()
            let model = try body.requiredString("model")
            let strategy = try RoutingStrategy.requested(try body.string("strategy") ?? call.request.headers[RoutingStrategy.header])
            let session = try SessionStickiness.sessionId(try body.string("session_id"))
            // A member sees what an unrestricted key of the organisation would get; a key sees its own restrictions.
            let identity = call.apiKey ?? APIKeyIdentity(keyId: "", orgId: org.id, name: "dry run", allowedModels: nil, expiresAt: nil)
            return JSONResponse.make(try await dryRun.decide(model: model, identity: identity, requested: strategy, session: session))
        }
    }
}
