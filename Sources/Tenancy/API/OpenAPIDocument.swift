import Core

/// OpenAPI 3.1 description of the management API, built from the routes the router actually serves.
public enum OpenAPIDocument {
    public static func make(routes: [ManagementRoute], version: String) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for route in routes {
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation(route)
        }
        return .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "AI Higress Gateway management API",
                "version": .string(version),
                "description": .string(
                    "Errors are RFC 9457 problem+json. Organisation routes answer 404 to non-members and 403 to members lacking the permission named in x-permission."
                ),
            ]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": components,
        ])
    }

    private static func operation(_ route: ManagementRoute) -> JSONValue {
        var op: [String: JSONValue] = [
            "summary": .string(route.summary),
            "tags": .array([.string(route.tag)]),
            "operationId": .string(operationId(route)),
            "responses": .object([
                String(route.successStatus.code): .object(["description": .string(route.successStatus.reasonPhrase)]),
                "default": .object(["$ref": "#/components/responses/Problem"]),
            ]),
        ]
        let parameters = route.pathParameters.map { name -> JSONValue in
            .object(["name": .string(name), "in": "path", "required": true, "schema": .object(["type": "string"])])
        }
        if !parameters.isEmpty { op["parameters"] = .array(parameters) }
        if let schema = route.requestSchema {
            op["requestBody"] = .object([
                "required": true, "content": .object(["application/json": .object(["schema": schema])]),
            ])
        }
        switch route.access {
        case .anyone:
            op["security"] = .array([])
        case .signedIn:
            op["x-access"] = "signed-in user"
        case .system:
            op["x-access"] = "system administrator"
        case .org(let permission):
            op["x-access"] = "organisation member"
            op["x-permission"] = .string(permission.rawValue)
        case .apiKey:
            op["x-access"] = "api key"
            op["security"] = .array([.object(["apiKey": .array([])])])
        }
        return .object(op)
    }

    private static func operationId(_ route: ManagementRoute) -> String {
        let words = route.path.split(separator: "/").map { segment in
            segment.hasPrefix("{") ? "by-" + segment.dropFirst().dropLast() : String(segment)
        }
        return ([route.method.rawValue.lowercased()] + words).joined(separator: "-")
    }

    private static let components: JSONValue = .object([
        "securitySchemes": .object([
            "bearer": .object(["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]),
            "apiKey": .object([
                "type": "http", "scheme": "bearer",
                "description": "An organisation's API key (also accepted as x-api-key); it acts in its own organisation.",
            ]),
            "cookie": .object([
                "type": "apiKey", "in": "cookie", "name": .string(PrincipalResolver.accessCookie),
                "description": "Browser sessions; unsafe methods also need the X-CSRF-Token header.",
            ]),
        ]),
        "schemas": .object([
            "Problem": .object([
                "type": "object",
                "properties": .object([
                    "type": .object(["type": "string"]), "title": .object(["type": "string"]),
                    "status": .object(["type": "integer"]), "detail": .object(["type": "string"]),
                    "instance": .object(["type": "string"]), "request_id": .object(["type": "string"]),
                    "param": .object(["type": "string"]),
                ]),
            ])
        ]),
        "responses": .object([
            "Problem": .object([
                "description": "Error (RFC 9457)",
                "content": .object(["application/problem+json": .object(["schema": .object(["$ref": "#/components/schemas/Problem"])])]),
            ])
        ]),
    ])
}
