import Core
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
        if let authorization = request.headers.firstValue(.authorization) {
            // What every SDK sends, read without splitting or lowercasing; anything else takes the general path below.
            if authorization.utf8.starts(with: "Bearer ".utf8) {
                let token = authorization.utf8.dropFirst(7)
                if let first = token.first, let last = token.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
                    return String(Substring(token))
                }
            }
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1]
                // Starting and ending with a visible ASCII character leaves nothing to trim; skip Foundation's trim.
                if let first = token.utf8.first, let last = token.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
                    return String(token)
                }
                return token.trimmingCharacters(in: .whitespaces)
            }
        }
        if let key = request.headers.firstValue(.xAPIKey) { return key }
        if ErrorShape.isGeminiPath(request.uri.path) {
            if let key = request.headers.firstValue(.xGoogAPIKey) { return key }
            if let key = request.uri.queryParameters.get("key") { return key }
        }
        return nil
    }
}

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("x-api-key")!
    static let xGoogAPIKey = HTTPField.Name("x-goog-api-key")!
}

import Foundation
