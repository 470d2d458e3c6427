import Core
import HTTPTypes
import Hummingbird

/// What a management handler gets: the request, who is calling, and (for organisation routes) their standing in
/// the organisation named by the path — already checked against the route's permission.
public struct ManagementCall: Sendable {
    public var request: Request
    public let context: AppRequestContext
    public let principal: Principal?
    public let org: OrgAccess?
    /// The API key of an `.apiKey` route (its organisation is `org`).
    public let apiKey: APIKeyIdentity?
    let maxBodyBytes: Int

    public var requestId: String { context.requestId }
    public var client: ClientInfo { ClientInfo(ip: context.remoteAddress, userAgent: request.headers[.userAgent]) }

    /// The signed-in caller; routes declared `.signedIn`, `.org` or `.system` always have one.
    public func user() throws(APIError) -> Principal {
        guard let principal else { throw .unauthorized("sign in first", code: "not_signed_in") }
        return principal
    }

    /// The organisation of an `.org` route.
    public func organization() throws(APIError) -> OrgAccess {
        guard let org else { throw .notFound("organization not found", code: "organization_not_found") }
        return org
    }

    public var actor: Actor { principal?.actor ?? apiKey.map { .apiKey($0.keyId) } ?? .system }

    public func parameter(_ name: String) throws(APIError) -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else {
            throw .badRequest("missing path parameter '\(name)'", param: name)
        }
        return value
    }

    public func query(_ name: String) -> String? {
        request.uri.queryParameters.get(name)
    }

    /// The JSON object body, with 400s that name the field.
    public mutating func body() async throws -> Fields {
        Fields(try await request.jsonObject(limit: maxBodyBytes))
    }

    /// An optional JSON body: empty means `{}`.
    public mutating func optionalBody() async throws -> Fields {
        let buffer = try await request.collectLimited(maxBodyBytes)
        guard buffer.readableBytes > 0 else { return Fields([:]) }
        let value = try JSONText.parse(buffer.readableBytesView)
        guard case .object(let object) = value else {
            throw APIError.badRequest("request body must be a JSON object, got \(value.typeName)", code: "invalid_json")
        }
        return Fields(object)
    }
}
