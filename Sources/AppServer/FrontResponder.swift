import Core
import Gateway
import HTTPServer
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The server's responder: the gateway's exact POST paths (`GatewayRoutes.directRoutes`) are answered by plain
/// calls — `EdgeMiddleware`'s steps (request id, error shapes, access log), then the route's key check and handler —
/// and everything else by the router, with the same middleware in the same order. The router resolves every
/// request through its trie, copies the context, records the endpoint's path as a new string and calls each
/// middleware through an existential (~3 % of the event loops for the requests that carry the traffic, session 13);
/// Hummingbird's `Request` parses the URI into strings and the context holds a logger and an endpoint-path box, and
/// neither is made for a direct route (session 17).
struct FrontResponder: Sendable {
    /// The router, with a `Request` and an `AppRequestContext` made for each request (`HTTP1Server.respond(with:)`).
    let routed: HTTP1Responder
    let edge: EdgeMiddleware
    let direct: [String: GatewayRoutes.DirectRoute]

    init(router: RouterResponder<AppRequestContext>, edge: EdgeMiddleware, direct: [String: GatewayRoutes.DirectRoute], logger: Logger) {
        self.routed = HTTP1Server.respond(with: router, logger: logger)
        self.edge = edge
        self.direct = direct
    }

    func respond(_ head: HTTPRequest, _ body: RequestBody, _ channel: any Channel) async throws -> Response {
        // The request target as received. A target with a query misses here and goes to the router, which answers
        // it the same way.
        guard head.method == .post, let path = head.path, let route = direct[path] else {
            return try await routed(head, body, channel)
        }
        return await edge.respond(to: head, path: path, channel: channel) { requestId in try await route(head, body, requestId) }
    }
}
