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

    public typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

    public func register(on router: Router<AppRequestContext>) {
        let auth = APIKeyMiddleware(authenticator: authenticator)
        let v1 = router.group("v1").add(middleware: auth)
        v1.get("models") { _, context in try await listModels(context) }
        router.group("models").add(middleware: auth).get { _, context in try await listModels(context) }
        for (path, handler) in postHandlers() {
            v1.post(RouterPath(path)) { request, context in try await handler(request, context) }
        }
        // Gemini: `/v1beta/models/{model}:{method}`, and `/v1/models/…` which google-genai uses by default.
        router.group("v1beta").add(middleware: auth).post("models/**") { request, context in try await gemini(request, context) }
        v1.post("models/**") { request, context in try await gemini(request, context) }
    }

    /// The exact `/v1/…` POST paths with their authentication, for the server to answer without its router's trie
    /// and middleware chain (`FrontResponder`); the router has the same routes for every other way in.
    public func directRoutes() -> [String: Handler] {
        let auth = APIKeyMiddleware(authenticator: authenticator)
        var routes: [String: Handler] = [:]
        for (path, handler) in postHandlers() {
            routes["/v1/" + path] = { request, context in try await auth.handle(request, context: context, next: handler) }
        }
        return routes
    }

    /// The `/v1/…` POST routes with exact paths, before authentication.
    private func postHandlers() -> [(String, Handler)] {
        [
            ("chat/completions", { request, context in
                try await proxy(.chatCompletions, request, context, streamHint: Self.acceptsEventStream(request) ? true : nil)
            }),
            ("responses", { request, context in try await proxy(.responses, request, context) }),
            ("messages", { request, context in try await proxy(.anthropicMessages, request, context) }),
            ("embeddings", { request, context in try await forward(request, context, .embeddings) }),
            ("images/generations", { request, context in try await forward(request, context, .images) }),
        ]
    }

    private func gemini(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let target = context.parameters.getCatchAll().joined(separator: "/")
        guard let colon = target.lastIndex(of: ":") else { throw Self.unknownGeminiAction(target) }
        let model = String(target[..<colon])
        let action = target[target.index(after: colon)...]
        guard !model.isEmpty, action == "generateContent" || action == "streamGenerateContent" else {
            throw Self.unknownGeminiAction(target)
        }
        return try await proxy(.gemini, request, context, model: model, streamHint: action == "streamGenerateContent")
    }

    /// A streaming request's deep part (routing, billing, the upstream call) runs in a child task: Swift keeps a
    /// task's stack slabs until the task ends, sized by its deepest call, and the request's task lives as long as
    /// the stream, so the deep frames are freed once the response head is ready and only the shallow relay stays
    /// (PERFORMANCE.md, session 5). A complete answer is written before the request's task ends anyway, so it runs
    /// the same part directly: a second task per request was ~4 % of the event loops (session 16).
    private func proxy(
        _ format: IngressFormat, _ request: Request, _ context: AppRequestContext, model: String? = nil, streamHint: Bool? = nil
    ) async throws -> Response {
        var request = request
        let body = try await request.jsonObjectBytes(limit: maxBodyBytes)
        let inbound = try Self.inbound(format, request.headers, context, body: body, model: model, streamHint: streamHint)
        let target = try ProxyEngine.Chat.target(inbound)
        guard target.stream else { return try await gateway.engine.handle(inbound, target: target) }
        async let response = gateway.engine.handle(inbound, target: target)
        return try await response
    }

    /// Synchronous, so its temporaries stay out of the async frame the connection keeps (PERFORMANCE.md).
    @inline(never)
    private static func inbound(
        _ format: IngressFormat, _ headers: HTTPFields, _ context: AppRequestContext, body: JSONObjectBytes, model: String?, streamHint: Bool?
    ) throws -> ProxyEngine.Inbound {
        var relay: [(String, String)] = []
        for name in Self.relayedHeaders {
            if let value = headers[name] { relay.append((name.canonicalName, value)) }
        }
        return ProxyEngine.Inbound(
            format: format, body: body, modelFromPath: model, streamHint: streamHint, relayHeaders: relay,
            identity: try context.requireKey(), requestId: context.requestId,
            sessionId: try SessionStickiness.sessionId(headers[SessionStickiness.header]),
            strategy: try RoutingStrategy.requested(headers[RoutingStrategy.header])
        )
    }

    private static let relayedHeaders = ["anthropic-version", "anthropic-beta", "openai-beta"].map { HTTPField.Name($0)! }

    private func forward(_ request: Request, _ context: AppRequestContext, _ capability: Capability) async throws -> Response {
        var request = request
        let body = try await request.jsonObjectBytes(limit: maxBodyBytes)
        return try await gateway.engine.forward(
            body, capability: capability, identity: try context.requireKey(), requestId: context.requestId,
            strategy: try RoutingStrategy.requested(request.headers[RoutingStrategy.header])
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

    static func acceptsEventStream(_ request: Request) -> Bool {
        // Over UTF-8 bytes: Foundation's `contains` on `String` bridges to `NSString`.
        request.headers.firstValue(.accept)?.utf8.firstRange(of: "text/event-stream".utf8) != nil
    }

    static func unknownGeminiAction(_ target: String) -> APIError {
        .notFound("unknown Gemini method '\(target)'; use models/{model}:generateContent or :streamGenerateContent", code: "unknown_endpoint")
    }
}

extension AppRequestContext {
    func requireKey() throws -> APIKeyIdentity {
        guard let key = apiKey else { throw APIError.unauthorized("missing API key") }
        return key
    }
}
