/// Login, token and registration settings (`AIHIGRESS_*` in `.env.example`).
public struct AuthSettings: Sendable {
    public var accessTokenLifetime: Duration
    public var refreshTokenLifetime: Duration
    /// A replay of a just-rotated refresh token within this window returns the same successor instead of revoking
    /// the family, so two tabs refreshing at once do not sign the user out.
    public var refreshGracePeriod: Duration
    public var openRegistration: Bool
    public var allowOrganizationCreation: Bool
    /// Failed logins (per account and client address) before the account is locked for that client.
    public var lockoutThreshold: Int
    /// First lock length; each further failure doubles it, up to `lockoutMaximum`.
    public var lockoutBase: Duration
    public var lockoutMaximum: Duration
    public var invitationLifetime: Duration
    /// The externally visible base URL (`https://gateway.example.com`): OAuth redirect URIs and `Secure` cookies.
    public var publicURL: String?

    static func read(_ reader: inout SettingReader) -> AuthSettings {
        let access = reader.integer("AIHIGRESS_ACCESS_TOKEN_TTL_SECONDS", default: 900, in: 30...86_400)
        let refreshDays = reader.integer("AIHIGRESS_REFRESH_TOKEN_TTL_DAYS", default: 30, in: 1...365)
        let grace = reader.integer("AIHIGRESS_REFRESH_GRACE_SECONDS", default: 10, in: 0...300)
        let open = reader.boolean("AIHIGRESS_OPEN_REGISTRATION", default: false)
        let orgCreation = reader.boolean("AIHIGRESS_ALLOW_ORG_CREATION", default: true)
        let threshold = reader.integer("AIHIGRESS_LOGIN_LOCK_THRESHOLD", default: 5, in: 1...100)
        let base = reader.integer("AIHIGRESS_LOGIN_LOCK_SECONDS", default: 30, in: 1...86_400)
        let maximum = reader.integer("AIHIGRESS_LOGIN_LOCK_MAX_SECONDS", default: 3600, in: 1...604_800)
        let invitationHours = reader.integer("AIHIGRESS_INVITATION_TTL_HOURS", default: 168, in: 1...8760)
        let publicURL = reader.optionalString("AIHIGRESS_PUBLIC_URL")
        if let publicURL, !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) || publicURL.hasSuffix("/") {
            reader.problems.append("AIHIGRESS_PUBLIC_URL: must be an http(s) URL without a trailing slash, e.g. https://gateway.example.com")
        }
        if maximum < base {
            reader.problems.append("AIHIGRESS_LOGIN_LOCK_MAX_SECONDS: must be at least AIHIGRESS_LOGIN_LOCK_SECONDS (\(base))")
        }
        return AuthSettings(
            accessTokenLifetime: .seconds(access), refreshTokenLifetime: .seconds(refreshDays * 86_400),
            refreshGracePeriod: .seconds(grace), openRegistration: open, allowOrganizationCreation: orgCreation,
            lockoutThreshold: threshold, lockoutBase: .seconds(base), lockoutMaximum: .seconds(maximum),
            invitationLifetime: .seconds(invitationHours * 3600), publicURL: publicURL
        )
    }
}
