import Core
import HTTPTypes
import Hummingbird
import NIOCore
import Tenancy

/// The client-facing gateway API: OpenAI chat, Responses, Anthropic Messages, Gemini, embeddings, images, models.
/// Every route authenticates with an API key first.
public struct GatewayRoutes: Sendable {
    private let authenticator: APIKeyAuthenticator
    private let gateway: GatewayService
    private let maxBodyBytes: Int

    public init(authenticator: APIKeyAuthenticator, gateway: GatewayService, maxBodyBytes: Int) {
        self.authenticator = authenticator
        self.gateway = gateway
        self.maxBodyBytes = maxBodyBytes
    }

    /// A handler of the gateway's POST routes: the request after authentication, from either way in.
    typealias Handler = @Sendable (GatewayRequest) async throws -> Response

    /// A route the server answers without its router (`directRoutes`): the parsed head, the body and the request
    /// id; authentication is the route's first step.
    public typealias DirectRoute = @Sendable (HTTPRequest, RequestBody, _ requestId: String) async throws -> Response

    public func register(on router: Router<AppRequestContext>) {
        let auth = APIKeyMiddleware(authenticator: authenticator)
        let v1 = router.group("v1").add(middleware: auth)
        v1.get("models") { _, context in try await listModels(context) }
        router.group("models").add(middleware: auth).get { _, context in try await listModels(context) }
        for (path, handler) in postHandlers() {
            v1.post(RouterPath(path)) { request, context in try await handler(try GatewayRequest(request, context)) }
        }
        // Gemini: `/v1beta/models/{model}:{method}`, and `/v1/models/…` which google-genai uses by default.
        let gemini: @Sendable (Request, AppRequestContext) async throws -> Response = { request, context in
            try await self.gemini(try GatewayRequest(request, context), target: context.parameters.getCatchAll().joined(separator: "/"))
        }
        router.group("v1beta").add(middleware: auth).post("models/**", use: gemini)
        v1.post("models/**", use: gemini)
    }

    /// The exact `/v1/…` POST paths, for the server to answer without its router's trie and middleware chain, and
    /// without making Hummingbird's `Request` and context (`FrontResponder`); the router has the same routes for
    /// every other way in (a target with a query, for one).
    public func directRoutes() -> [String: DirectRoute] {
        let authenticator = self.authenticator
        var routes: [String: DirectRoute] = [:]
        for (path, handler) in postHandlers() {
            routes["/v1/" + path] = { head, body, requestId in
                let key = try await authenticator.authenticate(APIKeyMiddleware.presentedKey(head.headerFields))
                return try await handler(GatewayRequest(head: head, body: body, requestId: requestId, key: key))
            }
        }
        return routes
    }

    /// The `/v1/…` POST routes with exact paths, after authentication.
    private func postHandlers() -> [(String, Handler)] {
        [
            ("chat/completions", { request in
                try await proxy(.chatCompletions, request, streamHint: Self.acceptsEventStream(request.head.headerFields) ? true : nil)
            }),
            ("responses", { request in try await proxy(.responses, request) }),
            ("messages", { request in try await proxy(.anthropicMessages, request) }),
            ("embeddings", { request in try await forward(request, .embeddings) }),
            ("images/generations", { request in try await forward(request, .images) }),
        ]
    }

    private func gemini(_ request: GatewayRequest, target: String) async throws -> Response {
        guard let colon = target.lastIndex(of: ":") else { throw Self.unknownGeminiAction(target) }
        let model = String(target[..<colon])
        let action = target[target.index(after: colon)...]
        guard !model.isEmpty, action == "generateContent" || action == "streamGenerateContent" else {
            throw Self.unknownGeminiAction(target)
        }
        return try await proxy(.gemini, request, model: model, streamHint: action == "streamGenerateContent")
    }

    /// A streaming request's deep part (routing, billing, the upstream call) runs in a child task: Swift keeps a
    /// task's stack slabs until the task ends, sized by its deepest call, and the request's task lives as long as
    /// the stream, so the deep frames are freed once the response head is ready and only the shallow relay stays
    /// (PERFORMANCE.md, session 5). A complete answer is written before the request's task ends anyway, so it runs
    /// the same part directly: a second task per request was ~4 % of the event loops (session 16).
    private func proxy(_ format: IngressFormat, _ request: GatewayRequest, model: String? = nil, streamHint: Bool? = nil) async throws -> Response {
        let headers = request.head.headerFields
        let body = try await request.body.jsonObjectBytes(limit: maxBodyBytes, headers: headers)
        let inbound = try Self.inbound(format, request, body: body, model: model, streamHint: streamHint)
        let target = try ProxyEngine.Chat.target(inbound)
        guard target.stream else { return try await gateway.engine.handle(inbound, target: target) }
        async let response = gateway.engine.handle(inbound, target: target)
        return try await response
    }

    /// Synchronous, so its temporaries stay out of the async frame the connection keeps (PERFORMANCE.md).
    @inline(never)
    private static func inbound(
        _ format: IngressFormat, _ request: GatewayRequest, body: JSONObjectBytes, model: String?, streamHint: Bool?
    ) throws -> ProxyEngine.Inbound {
        let headers = request.head.headerFields
        var relay: [(String, String)] = []
        for name in Self.relayedHeaders {
            if let value = headers[name] { relay.append((name.canonicalName, value)) }
        }
        return ProxyEngine.Inbound(
            format: format, body: body, modelFromPath: model, streamHint: streamHint, relayHeaders: relay,
            identity: request.key, requestId: request.requestId,
            sessionId: try SessionStickiness.sessionId(headers[SessionStickiness.header]),
            strategy: try RoutingStrategy.requested(headers[RoutingStrategy.header])
        )
    }

    private static let relayedHeaders = ["anthropic-version", "anthropic-beta", "openai-beta"].map { HTTPField.Name($0)! }

    private func forward(_ request: GatewayRequest, _ capability: Capability) async throws -> Response {
        let headers = request.head.headerFields
        let body = try await request.body.jsonObjectBytes(limit: maxBodyBytes, headers: headers)
        return try await gateway.engine.forward(
            body, capability: capability, identity: request.key, requestId: request.requestId,
            strategy: try RoutingStrategy.requested(headers[RoutingStrategy.header])
        )
    }

    private func listModels(_ context: AppRequestContext) async throws -> Response {
        let data = try await gateway.visibleModels(for: try context.requireKey())
        let list: JSONValue = .object([
            "object": .string("list"),
            "data": .array(data.map { .object(["id": .string($0.id), "object": .string("model"), "created": .int(0), "owned_by": .string($0.owner)]) }),
        ])
        return ProxyEngine.json(ByteBuffer(bytes: JSONText.bytes(list)))
    }

    static func acceptsEventStream(_ headers: HTTPFields) -> Bool {
        // Over UTF-8 bytes: Foundation's `contains` on `String` bridges to `NSString`.
        headers.firstValue(.accept)?.utf8.firstRange(of: "text/event-stream".utf8) != nil
    }

    static func unknownGeminiAction(_ target: String) -> APIError {
        .notFound("unknown Gemini method '\(target)'; use models/{model}:generateContent or :streamGenerateContent", code: "unknown_endpoint")
    }
}

/// A gateway request as its handlers read it, from either way in: the router (Hummingbird's `Request` and the
/// request context, after `APIKeyMiddleware`) or the server's direct lane (the parsed head and body, neither made).
struct GatewayRequest: Sendable {
    let head: HTTPRequest
    let body: RequestBody
    let requestId: String
    let key: APIKeyIdentity
}

extension GatewayRequest {
    init(_ request: Request, _ context: AppRequestContext) throws {
        self.init(head: request.head, body: request.body, requestId: context.requestId, key: try context.requireKey())
    }
}

extension AppRequestContext {
    func requireKey() throws -> APIKeyIdentity {
        guard let key = apiKey else { throw APIError.unauthorized("missing API key") }
        return key
    }
}
