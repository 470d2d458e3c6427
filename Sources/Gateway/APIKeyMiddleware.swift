import Core
import HTTP1Wire
import HTTPTypes
import Hummingbird
import Tenancy

/// Authenticates `/v1` and `/v1beta` requests. Keys are read from `Authorization: Bearer`, `x-api-key`
/// (Anthropic SDKs) and, on Gemini routes only, `x-goog-api-key` or the `key` query parameter.
public struct APIKeyMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    private let authenticator: APIKeyAuthenticator

    public init(authenticator: APIKeyAuthenticator) {
        self.authenticator = authenticator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.apiKey = try await authenticator.authenticate(Self.presentedKey(request))
        return try await next(request, context)
    }

    static func presentedKey(_ request: Request) -> String? {
        if let key = presentedKey(request.headers) { return key }
        if ErrorShape.isGeminiPath(request.uri.path) {
            if let key = request.headers.firstValue(.xGoogAPIKey) { return key }
            if let key = request.uri.queryParameters.get("key") { return key }
        }
        return nil
    }

    /// The key of a route that is not Gemini's: `Authorization: Bearer`, else `x-api-key`.
    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let authorization = headers.firstValue(.authorization), let token = bearerToken(authorization) { return token }
        return headers.firstValue(.xAPIKey)
    }

    /// The token of `Authorization: Bearer <token>` (the scheme in any case): leading spaces skipped, the scheme up
    /// to the first space, the rest trimmed of whitespace — without splitting or lowercasing the header.
    static func bearerToken(_ authorization: String) -> String? {
        let header = authorization.drop { $0 == " " }
        guard let space = header.firstIndex(of: " "), HTTP1Syntax.equalsIgnoringCase(header[..<space].utf8, "bearer") else { return nil }
        let token = header[header.index(after: space)...]
        guard let first = token.utf8.first, let last = token.utf8.last else { return nil }
        // Starting and ending with a visible ASCII character leaves nothing to trim; skip Foundation's trim.
        if (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) { return String(token) }
        return token.trimmingCharacters(in: .whitespaces)
    }
}

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("x-api-key")!
    static let xGoogAPIKey = HTTPField.Name("x-goog-api-key")!
}

import Foundation
