import Core
import Foundation

/// Sign-in with OAuth 2.0 / OpenID Connect providers: authorization code flow with PKCE (S256), `state` and
/// `nonce` kept server-side for 10 minutes and used once, ID tokens verified against the provider's JWKS (GitHub:
/// user and primary verified email from its API), then the account is found, linked or created and a login
/// session starts. Every refusal is a problem+json error and a `login.failed` audit entry.
public struct OAuthLogin: Sendable {
    public let settings: OAuthSettings
    private let discovery: OAuthDiscovery
    private let states: OAuthStateStore
    private let verifier: IDTokenVerifier
    private let github: GitHubUserFetcher
    private let accounts: OAuthAccounts
    private let sessions: LoginSessions
    private let http: OAuthHTTP

    public init(settings: OAuthSettings, database: Database, sharedState: any SharedState, keyRing: KeyRing, auth: AuthSettings, sessions: LoginSessions) {
        let http = OAuthHTTP()
        self.settings = settings
        self.http = http
        self.discovery = OAuthDiscovery(http: http)
        self.states = OAuthStateStore(sharedState: sharedState, keyRing: keyRing)
        self.verifier = IDTokenVerifier(http: http)
        self.github = GitHubUserFetcher(http: http)
        self.accounts = OAuthAccounts(database: database, settings: auth)
        self.sessions = sessions
    }

    public func provider(_ name: String) throws(APIError) -> OAuthProviderSettings {
        guard let provider = settings.provider(named: name.lowercased()) else {
            throw APIError.notFound("no OAuth provider named '\(name.prefix(40))' is configured", code: "oauth_provider_not_found")
        }
        return provider
    }

    /// The provider URL to send the browser to. `redirectBase` is the gateway's public origin.
    public func authorizationURL(provider name: String, redirectBase: String, returnTo: String?, linkUserId: String?) async throws -> String {
        let provider = try provider(name)
        let endpoints = try await discovery.endpoints(for: provider)
        let redirectURI = "\(redirectBase)/auth/oauth/\(provider.name)/callback"
        let pending = PendingAuthorization(
            provider: provider.name, nonce: RandomToken.base62(length: 32), verifier: PKCE.verifier(), redirectURI: redirectURI,
            returnTo: returnTo, linkUserId: linkUserId
        )
        let state = try await states.save(pending)
        var parameters: [(String, String)] = [
            ("response_type", "code"), ("client_id", provider.clientId), ("redirect_uri", redirectURI),
            ("scope", provider.scopes.joined(separator: " ")), ("state", state),
            ("code_challenge", PKCE.challenge(for: pending.verifier)), ("code_challenge_method", "S256"),
        ]
        if provider.isOpenIDConnect { parameters.append(("nonce", pending.nonce)) }
        let separator = endpoints.authorization.contains("?") ? "&" : "?"
        return endpoints.authorization + separator + OAuthHTTP.formEncode(parameters).replacingOccurrences(of: "+", with: "%20")
    }

    public enum Outcome: Sendable {
        case signedIn(IssuedTokens, returnTo: String)
        case linked(userId: String, returnTo: String)
    }

    /// The provider sent the browser back with `code` and `state` (or an `error`).
    public func complete(
        provider name: String, code: String?, state: String?, providerError: String?, client: ClientInfo, deviceToken: String
    ) async throws -> Outcome {
        let provider = try provider(name)
        var linkUserId: String?
        do {
            // The state is consumed first, whatever else is wrong, so it can never be used twice.
            guard let state, let pending = try await states.consume(state), pending.provider == provider.name else {
                throw APIError.badRequest("the sign-in request is unknown, expired or was already used; start again", param: "state", code: "invalid_state")
            }
            linkUserId = pending.linkUserId
            if let providerError {
                let shown = providerError.utf8.count <= 64 && providerError.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F } ? providerError : "error"
                throw APIError.badRequest("the identity provider did not authorize the sign-in (\(shown))", code: "oauth_denied")
            }
            guard let code, !code.isEmpty, code.utf8.count <= 2048 else {
                throw APIError.badRequest("the identity provider did not return an authorization code", param: "code", code: "missing_code")
            }
            let identity = try await identity(provider: provider, code: code, pending: pending)
            let returnTo = pending.returnTo ?? "/"
            if let userId = pending.linkUserId {
                try await accounts.link(provider: provider.name, identity: identity, userId: userId, client: client)
                return .linked(userId: userId, returnTo: returnTo)
            }
            let userId = try await accounts.userForSignIn(provider: provider.name, identity: identity, client: client)
            let tokens = try await sessions.start(userId: userId, method: "oauth:\(provider.name)", client: client, deviceToken: deviceToken)
            return .signedIn(tokens, returnTo: returnTo)
        } catch {
            let reason = (error as? APIError)?.code ?? "internal_error"
            await accounts.recordFailure(provider: provider.name, reason: reason, userId: linkUserId, client: client)
            throw error
        }
    }

    /// Code → tokens → verified identity.
    private func identity(provider: OAuthProviderSettings, code: String, pending: PendingAuthorization) async throws -> ProviderIdentity {
        let endpoints = try await discovery.endpoints(for: provider)
        let tokens: JSONValue
        do {
            tokens = try await http.postForm(
                endpoints.token,
                form: [
                    ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", pending.redirectURI),
                    ("code_verifier", pending.verifier), ("client_id", provider.clientId), ("client_secret", provider.clientSecret),
                ],
                what: "token exchange"
            )
        } catch {
            let status = error.status.map { " (HTTP \($0))" } ?? ""
            throw APIError(
                .badGateway, .upstream, "the identity provider refused or failed the authorization code exchange\(status); start again",
                code: "oauth_token_exchange_failed"
            )
        }
        // GitHub answers 200 with an `error` field for a bad code.
        if tokens["error"] != nil {
            throw APIError(
                .badGateway, .upstream, "the identity provider refused the authorization code; start again", code: "oauth_token_exchange_failed"
            )
        }
        if provider.kind == .github {
            guard let access = tokens["access_token"]?.stringValue, !access.isEmpty else { throw Self.noToken }
            return try await github.identity(accessToken: access, endpoints: endpoints)
        }
        guard let idToken = tokens["id_token"]?.stringValue, let jwks = endpoints.jwks else { throw Self.noToken }
        let claims: IDTokenClaims
        do {
            claims = try await verifier.verify(idToken, provider: provider, jwksURL: jwks, expectedNonce: pending.nonce)
        } catch let refused as IDTokenVerifier.Refused {
            throw APIError(
                .unauthorized, .authentication, "the identity provider's ID token failed verification (\(refused.reason.rawValue))",
                code: "invalid_id_token"
            )
        }
        return ProviderIdentity(
            subject: claims.sub.value, email: claims.email, emailVerified: claims.emailVerified?.value == true, displayName: claims.name
        )
    }

    static let noToken = APIError(.badGateway, .upstream, "the identity provider's token response lacked the expected token", code: "oauth_token_exchange_failed")

    /// A same-site path to return to after sign-in: absolute path, no scheme or authority, no backslashes or
    /// control characters. Anything else is refused so the flow cannot be used as an open redirect.
    public static func safeReturnPath(_ text: String?) throws(APIError) -> String? {
        guard let text, !text.isEmpty else { return nil }
        let bytes = Array(text.utf8)
        let ok = bytes.count <= 512 && bytes.first == 0x2F && (bytes.count < 2 || (bytes[1] != 0x2F && bytes[1] != 0x5C))
            && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x5C }
        guard ok else {
            throw APIError.badRequest("return_to must be a path on this site, such as /console", param: "return_to", code: "invalid_return_to")
        }
        return text
    }
}
