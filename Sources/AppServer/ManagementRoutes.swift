import Core
import Hummingbird
import Tenancy

/// Every management endpoint, registered through one `ManagementRouter` so each declares its access rule and
/// `/openapi.json` lists exactly what is served.
enum ManagementRoutes {
    static let apiVersion = "1.0.0"

    static func register(on router: Router<AppRequestContext>, identity: Identity, maxBodyBytes: Int) {
        let api = ManagementRouter(router: router, resolver: identity.resolver, maxBodyBytes: maxBodyBytes)
        AuthRoutes(identity: identity).register(on: api)
        let document = OpenAPIDocument.make(routes: api.routes, version: apiVersion)
        api.add(.get, "/openapi.json", access: .anyone, tag: "meta", summary: "This API description (OpenAPI 3.1)") { _ in
            JSONResponse.make(document)
        }
    }
}
