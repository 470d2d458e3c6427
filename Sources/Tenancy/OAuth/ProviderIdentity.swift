import Core

/// Who the provider says the user is.
public struct ProviderIdentity: Sendable, Equatable {
    /// Stable id at the provider (`sub`, or GitHub's numeric user id).
    public let subject: String
    public let email: String?
    /// Whether the provider asserts the user controls `email`; only then may it match an existing account.
    public let emailVerified: Bool
    public let displayName: String?

    public init(subject: String, email: String?, emailVerified: Bool, displayName: String?) {
        self.subject = subject
        self.email = email
        self.emailVerified = emailVerified
        self.displayName = displayName
    }
}

/// GitHub's OAuth is not OpenID Connect: the user comes from `GET /user`, the email from `GET /user/emails`
/// (the primary address, and whether GitHub verified it).
public struct GitHubUserFetcher: Sendable {
    private let http: OAuthHTTP

    public init(http: OAuthHTTP = OAuthHTTP()) {
        self.http = http
    }

    public func identity(accessToken: String, endpoints: OAuthEndpoints) async throws(APIError) -> ProviderIdentity {
        guard let userURL = endpoints.userInfo else { throw Self.failed }
        let user: JSONValue
        do {
            user = try await http.getJSON(userURL, bearer: accessToken, what: "github user")
        } catch {
            throw Self.failed
        }
        guard let id = user["id"]?.intValue else { throw Self.failed }
        let name = user["name"]?.stringValue ?? user["login"]?.stringValue
        var email: String?
        var verified = false
        if let emailsURL = endpoints.emails, let list = try? await http.getJSON(emailsURL, bearer: accessToken, what: "github emails").arrayValue {
            let primary = list.first { $0["primary"]?.boolValue == true }
            if let primary, let address = primary["email"]?.stringValue {
                email = address
                verified = primary["verified"]?.boolValue == true
            }
        }
        if email == nil { email = user["email"]?.stringValue }
        return ProviderIdentity(subject: String(id), email: email, emailVerified: verified, displayName: name)
    }

    static let failed = APIError(.badGateway, .upstream, "the identity provider did not return the user's profile", code: "oauth_profile_failed")
}
