import Core
import HTTPTypes

/// Who may call a management endpoint. Every route states one; there is no default.
public enum Access: Sendable, Equatable {
    /// No credentials (login, register, refresh, OAuth redirects, the API description).
    case anyone
    /// Any signed-in user; the handler scopes what it shows to that user.
    case signedIn
    /// A member of the organisation named by the `{org}` path parameter whose role holds the permission.
    /// Callers from other organisations get 404, members without the permission 403.
    case org(Permission)
    /// Platform operators only.
    case system
    /// An organisation's API key, acting in the key's own organisation with `Permission.heldByAPIKeys`: the
    /// key-facing twin of an `.org` route (same handler, path without `/orgs/{org}`).
    case apiKey(Permission)
}

/// One management endpoint as registered: the router, the OpenAPI document and the isolation tests read this list.
public struct ManagementRoute: Sendable {
    public let method: HTTPRequest.Method
    /// OpenAPI-style template: `/orgs/{org}/members/{user}`.
    public let path: String
    public let access: Access
    public let summary: String
    public let tag: String
    /// JSON Schema of the request body, when the endpoint takes one.
    public let requestSchema: JSONValue?
    public let successStatus: HTTPResponse.Status

    /// Names of the `{param}` segments, in order.
    public var pathParameters: [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    /// The same template in the router's syntax: `/orgs/:org/members/:user`.
    var routerPath: String {
        "/" + path.split(separator: "/").map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }
}
