import Billing
import Core
import Gateway
import Hummingbird
import Tenancy

/// Every management endpoint, registered through one `ManagementRouter` so each declares its access rule and
/// `/openapi.json` lists exactly what is served.
enum ManagementRoutes {
    static let apiVersion = "1.0.0"

    static func register(
        on router: Router<AppRequestContext>, identity: Identity, keys: APIKeyAuthenticator, billing: BillingService, gateway: GatewayService,
        maxBodyBytes: Int
    ) {
        let api = ManagementRouter(router: router, resolver: identity.resolver, keys: keys, maxBodyBytes: maxBodyBytes)
        AuthRoutes(identity: identity).register(on: api)
        OrganizationRoutes(identity: identity).register(on: api)
        MemberRoutes(identity: identity).register(on: api)
        InvitationRoutes(identity: identity).register(on: api)
        RoleRoutes(identity: identity).register(on: api)
        APIKeyRoutes(identity: identity).register(on: api)
        AuditRoutes(identity: identity).register(on: api)
        SystemRoutes(identity: identity).register(on: api)
        OAuthRoutes(identity: identity).register(on: api)
        BillingRoutes(billing: billing).register(on: api)
        PaymentRoutes(billing: billing).register(on: api)
        GrantCodeRoutes(billing: billing, keyRing: identity.keyRing).register(on: api)
        UsageReportRoutes(billing: billing).register(on: api)
        LogicalModelRoutes(gateway: gateway).register(on: api)
        SessionRoutes(gateway: gateway).register(on: api)
        RoutingDecisionRoutes(gateway: gateway).register(on: api)
        ProviderRoutes(gateway: gateway).register(on: api)
        let document = OpenAPIDocument.make(routes: api.routes, version: apiVersion)
        api.add(.get, "/openapi.json", access: .anyone, tag: "meta", summary: "This API description (OpenAPI 3.1)") { _ in
            JSONResponse.make(document)
        }
    }
}
