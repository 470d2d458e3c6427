import Core
import Foundation

/// A provider's endpoints: explicit settings win, the rest come from OIDC discovery.
public struct OAuthEndpoints: Sendable, Equatable {
    public let authorization: String
    public let token: String
    public let jwks: String?
    public let userInfo: String?
    public let emails: String?
}

/// Resolves and caches endpoints per provider. Discovery (`{issuer}/.well-known/openid-configuration`) is fetched
/// on first use and kept for an hour; a failed fetch is not cached, so the next sign-in tries again.
public actor OAuthDiscovery {
    private var cache: [String: (endpoints: OAuthEndpoints, fetchedAt: ContinuousClock.Instant)] = [:]
    private let http: OAuthHTTP
    static let lifetime: Duration = .seconds(3600)

    public init(http: OAuthHTTP = OAuthHTTP()) {
        self.http = http
    }

    public func endpoints(for provider: OAuthProviderSettings) async throws(APIError) -> OAuthEndpoints {
        if let explicit = Self.explicit(provider) { return explicit }
        if let cached = cache[provider.name], cached.fetchedAt.duration(to: .now) < Self.lifetime { return cached.endpoints }
        guard let issuer = provider.issuer else { throw Self.unavailable(provider) }
        let document: JSONValue
        do {
            document = try await http.getJSON("\(issuer)/.well-known/openid-configuration", what: "discovery")
        } catch {
            throw Self.unavailable(provider)
        }
        // OpenID Connect Discovery §4.3: the document's issuer must be the one it was fetched for.
        guard document["issuer"]?.stringValue == issuer,
            let authorization = provider.authorizationURL ?? Self.url(document["authorization_endpoint"]),
            let token = provider.tokenURL ?? Self.url(document["token_endpoint"]),
            let jwks = provider.jwksURL ?? Self.url(document["jwks_uri"])
        else { throw Self.unavailable(provider) }
        let endpoints = OAuthEndpoints(
            authorization: authorization, token: token, jwks: jwks,
            userInfo: provider.userInfoURL ?? Self.url(document["userinfo_endpoint"]), emails: nil
        )
        cache[provider.name] = (endpoints, .now)
        return endpoints
    }

    /// Endpoints that need no discovery: GitHub's, or an OIDC provider with all three set explicitly.
    static func explicit(_ provider: OAuthProviderSettings) -> OAuthEndpoints? {
        guard let authorization = provider.authorizationURL, let token = provider.tokenURL else { return nil }
        if provider.kind == .github {
            return OAuthEndpoints(authorization: authorization, token: token, jwks: nil, userInfo: provider.userInfoURL, emails: provider.emailsURL)
        }
        guard let jwks = provider.jwksURL else { return nil }
        return OAuthEndpoints(authorization: authorization, token: token, jwks: jwks, userInfo: provider.userInfoURL, emails: nil)
    }

    static func url(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", url.host?.isEmpty == false
        else { return nil }
        return text
    }

    static func unavailable(_ provider: OAuthProviderSettings) -> APIError {
        APIError(
            .badGateway, .upstream, "the identity provider '\(provider.name)' could not be reached or its configuration is invalid",
            code: "oauth_provider_unavailable"
        )
    }
}
