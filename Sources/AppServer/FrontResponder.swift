import Core
import Gateway
import Hummingbird

/// The server's responder: the gateway's exact POST paths (`GatewayRoutes.directRoutes`) are answered by plain
/// calls — `EdgeMiddleware`, then the route's key check and handler — and everything else by the router. The
/// router resolves every request through its trie, copies the context, records the endpoint's path as a new string
/// and calls each middleware through an existential; for the requests that carry the traffic that was ~3 % of the
/// event loops' time (PERFORMANCE.md, session 13). The behaviour is the router's: same middleware, same order.
struct FrontResponder: HTTPResponder {
    typealias Context = AppRequestContext

    let router: RouterResponder<AppRequestContext>
    let edge: EdgeMiddleware
    let direct: [String: GatewayRoutes.Handler]

    func respond(to request: Request, context: Context) async throws -> Response {
        // The request target as received: `uri.path` would build a new string. A target with a query misses here
        // and goes to the router, which answers it the same way.
        guard request.method == .post, let route = direct[request.head.path ?? "/"] else {
            return try await router.respond(to: request, context: context)
        }
        return try await edge.handle(request, context: context, next: route)
    }
}
