import Foundation

/// One sign-in provider from `OAUTH_PROVIDERS` / `OAUTH_{NAME}_*`. The client secret lives only in memory and is
/// never part of any description, so printing the settings cannot leak it.
public struct OAuthProviderSettings: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Any OpenID Connect provider: ID token verified against the provider's JWKS.
        case oidc
        /// GitHub's OAuth (not OIDC): the user and their primary verified email come from the REST API.
        case github
        /// OpenID Connect with Google's issuer as the default.
        case google
    }

    /// Lowercase name used in URLs (`/auth/oauth/{name}/…`) and in `oauth_identities.provider`.
    public var name: String
    public var kind: Kind
    public var clientId: String
    public var clientSecret: String
    /// OIDC issuer: discovery at `{issuer}/.well-known/openid-configuration` and the expected `iss` claim.
    public var issuer: String?
    /// Explicit endpoints; each one set wins over discovery.
    public var authorizationURL: String?
    public var tokenURL: String?
    public var jwksURL: String?
    public var userInfoURL: String?
    /// GitHub only: the user's email addresses.
    public var emailsURL: String?
    public var scopes: [String]

    public init(
        name: String, kind: Kind, clientId: String, clientSecret: String, issuer: String? = nil, authorizationURL: String? = nil,
        tokenURL: String? = nil, jwksURL: String? = nil, userInfoURL: String? = nil, emailsURL: String? = nil, scopes: [String]
    ) {
        self.name = name
        self.kind = kind
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.issuer = issuer
        self.authorizationURL = authorizationURL
        self.tokenURL = tokenURL
        self.jwksURL = jwksURL
        self.userInfoURL = userInfoURL
        self.emailsURL = emailsURL
        self.scopes = scopes
    }

    /// Whether the ID token flow applies (everything except GitHub).
    public var isOpenIDConnect: Bool { kind != .github }

    public var description: String { "OAuthProvider(\(name), kind: \(kind.rawValue), client_id: \(clientId), client_secret: <redacted>)" }
    public var debugDescription: String { description }
}

/// `OAUTH_PROVIDERS=github,google,corp` and one block of `OAUTH_{NAME}_*` per name. Every problem is reported.
public struct OAuthSettings: Sendable {
    public var providers: [OAuthProviderSettings]

    public init(providers: [OAuthProviderSettings] = []) {
        self.providers = providers
    }

    public func provider(named name: String) -> OAuthProviderSettings? {
        providers.first { $0.name == name }
    }

    static let githubDefaults = (
        authorize: "https://github.com/login/oauth/authorize", token: "https://github.com/login/oauth/access_token",
        user: "https://api.github.com/user", emails: "https://api.github.com/user/emails"
    )
    static let googleIssuer = "https://accounts.google.com"

    static func read(_ reader: inout SettingReader) -> OAuthSettings {
        guard let list = reader.optionalString("OAUTH_PROVIDERS") else { return OAuthSettings() }
        var providers: [OAuthProviderSettings] = []
        var seen: Set<String> = []
        for rawName in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !rawName.isEmpty {
            guard rawName.utf8.count <= 40, rawName.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }),
                rawName.first?.isLetter == true
            else {
                reader.problems.append("OAUTH_PROVIDERS: '\(rawName)' must be letters, digits or underscores, starting with a letter")
                continue
            }
            guard seen.insert(rawName).inserted else {
                reader.problems.append("OAUTH_PROVIDERS: '\(rawName)' is listed twice")
                continue
            }
            if let provider = readProvider(rawName, &reader) { providers.append(provider) }
        }
        return OAuthSettings(providers: providers)
    }

    private static func readProvider(_ name: String, _ reader: inout SettingReader) -> OAuthProviderSettings? {
        let prefix = "OAUTH_\(name.uppercased())_"
        let problemsBefore = reader.problems.count
        let kind = reader.choice(prefix + "KIND", default: name == "github" ? Kind.github : name == "google" ? .google : .oidc)
        let clientId = reader.optionalString(prefix + "CLIENT_ID")
        let clientSecret = reader.optionalString(prefix + "CLIENT_SECRET")
        if clientId == nil { reader.problems.append("\(prefix)CLIENT_ID: required for OAuth provider '\(name)'") }
        if clientSecret == nil { reader.problems.append("\(prefix)CLIENT_SECRET: required for OAuth provider '\(name)'") }
        func url(_ suffix: String) -> String? {
            guard let value = reader.optionalString(prefix + suffix) else { return nil }
            guard let parsed = URL(string: value), let scheme = parsed.scheme?.lowercased(), scheme == "https" || scheme == "http",
                parsed.host?.isEmpty == false, parsed.query == nil, parsed.fragment == nil
            else {
                reader.problems.append("\(prefix)\(suffix): must be an http(s) URL without query or fragment")
                return nil
            }
            return value.hasSuffix("/") && suffix == "ISSUER" ? String(value.dropLast()) : value
        }
        var issuer = url("ISSUER")
        var authorization = url("AUTHORIZATION_URL")
        var token = url("TOKEN_URL")
        let jwks = url("JWKS_URL")
        var userInfo = url("USERINFO_URL")
        var emails = url("EMAILS_URL")
        let scopesText = reader.optionalString(prefix + "SCOPES")
        var scopes = scopesText.map { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) } ?? []
        switch kind {
        case .github:
            authorization = authorization ?? githubDefaults.authorize
            token = token ?? githubDefaults.token
            userInfo = userInfo ?? githubDefaults.user
            emails = emails ?? githubDefaults.emails
            if scopes.isEmpty { scopes = ["read:user", "user:email"] }
        case .google, .oidc:
            if kind == .google { issuer = issuer ?? googleIssuer }
            if scopes.isEmpty { scopes = ["openid", "email", "profile"] }
            if !scopes.contains("openid") {
                reader.problems.append("\(prefix)SCOPES: must include 'openid' for an OpenID Connect provider")
            }
            // The issuer is what the ID token's `iss` is checked against, so it is required even with explicit endpoints.
            if issuer == nil {
                reader.problems.append(
                    "\(prefix)ISSUER: required for OpenID Connect provider '\(name)' (discovery and the ID token's issuer check; "
                        + "\(prefix)AUTHORIZATION_URL, _TOKEN_URL and _JWKS_URL may override discovered endpoints)"
                )
            }
        }
        guard reader.problems.count == problemsBefore, let clientId, let clientSecret else { return nil }
        return OAuthProviderSettings(
            name: name, kind: kind, clientId: clientId, clientSecret: clientSecret, issuer: issuer, authorizationURL: authorization,
            tokenURL: token, jwksURL: jwks, userInfoURL: userInfo, emailsURL: emails, scopes: scopes
        )
    }

    public typealias Kind = OAuthProviderSettings.Kind
}
