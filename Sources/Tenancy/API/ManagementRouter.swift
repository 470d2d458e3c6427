import Core
import HTTPTypes
import Hummingbird

/// Registers management endpoints. Each route declares its access rule, which is enforced here before the
/// handler runs, and is recorded so `/openapi.json` and the isolation tests see exactly what the router serves.
/// Used while the server is being assembled, on one task; not shared afterwards.
public final class ManagementRouter {
    public typealias Handler = @Sendable (ManagementCall) async throws -> Response

    private let router: Router<AppRequestContext>
    private let resolver: PrincipalResolver
    private let keys: APIKeyAuthenticator
    private let maxBodyBytes: Int

    public init(router: Router<AppRequestContext>, resolver: PrincipalResolver, keys: APIKeyAuthenticator, maxBodyBytes: Int) {
        self.router = router
        self.resolver = resolver
        self.keys = keys
        self.maxBodyBytes = maxBodyBytes
    }

    static let orgPrefix = "/orgs/{org}"

    /// Every route registered so far, in registration order.
    public private(set) var routes: [ManagementRoute] = []

    /// `apiKeys`: an `.org` route is also served at its path without `/orgs/{org}` to an organisation's API key,
    /// which acts in its own organisation (e.g. `/orgs/{org}/providers` and `/providers`).
    public func add(
        _ method: HTTPRequest.Method, _ path: String, access: Access, tag: String, summary: String,
        body requestSchema: JSONValue? = nil, status: HTTPResponse.Status = .ok, apiKeys: Bool = false, handler: @escaping Handler
    ) {
        register(method, path, access: access, tag: tag, summary: summary, body: requestSchema, status: status, handler: handler)
        guard apiKeys else { return }
        guard case .org(let permission) = access, path.hasPrefix(Self.orgPrefix + "/"), Permission.heldByAPIKeys.contains(permission) else {
            preconditionFailure("only organisation routes whose permission API keys hold have an API-key twin: \(path)")
        }
        register(
            method, String(path.dropFirst(Self.orgPrefix.count)), access: .apiKey(permission), tag: tag, summary: summary, body: requestSchema,
            status: status, handler: handler
        )
    }

    private func register(
        _ method: HTTPRequest.Method, _ path: String, access: Access, tag: String, summary: String,
        body requestSchema: JSONValue?, status: HTTPResponse.Status, handler: @escaping Handler
    ) {
        let route = ManagementRoute(
            method: method, path: path, access: access, summary: summary, tag: tag, requestSchema: requestSchema, successStatus: status
        )
        if case .org = access {
            precondition(route.pathParameters.first == "org", "organisation routes start with /…/{org}: \(path)")
        }
        routes.append(route)
        let resolver = self.resolver
        let keys = self.keys
        let maxBodyBytes = self.maxBodyBytes
        router.on(RouterPath(route.routerPath), method: method) { request, context in
            if case .apiKey(let permission) = access {
                let identity = try await keys.authenticate(PrincipalResolver.presentedAPIKey(request))
                let org = try await resolver.keyAccess(identity)
                try org.require(permission)
                return try await handler(
                    ManagementCall(request: request, context: context, principal: nil, org: org, apiKey: identity, maxBodyBytes: maxBodyBytes)
                )
            }
            // Open routes (login, refresh, OAuth callbacks) must work with a stale cookie still in the browser.
            let principal = access == .anyone ? try? await resolver.principal(for: request) : try await resolver.principal(for: request)
            var org: OrgAccess?
            switch access {
            case .apiKey:
                preconditionFailure("answered above")
            case .anyone:
                break
            case .signedIn:
                guard principal != nil else { throw Self.notSignedIn }
            case .system:
                guard let principal else { throw Self.notSignedIn }
                guard principal.isSystemAdmin else {
                    throw APIError.forbidden("this requires a system administrator", code: "system_admin_required")
                }
            case .org(let permission):
                guard let principal else { throw Self.notSignedIn }
                let access = try await resolver.orgAccess(principal, orgRef: context.parameters.get("org") ?? "")
                try access.require(permission)
                org = access
            }
            return try await handler(
                ManagementCall(request: request, context: context, principal: principal, org: org, apiKey: nil, maxBodyBytes: maxBodyBytes)
            )
        }
    }

    static let notSignedIn = APIError.unauthorized(
        "sign in first: send 'Authorization: Bearer <access token>' from POST /auth/login", code: "not_signed_in"
    )
}
