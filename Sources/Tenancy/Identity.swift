import Core

/// The identity services, opened once at start-up and shared by every management route.
public struct Identity: Sendable {
    public let database: Database
    public let keyRing: KeyRing
    public let sharedState: any SharedState
    public let settings: AuthSettings
    public let passwords: PasswordHasher
    public let tokens: AccessTokens
    public let resolver: PrincipalResolver
    public let sessions: LoginSessions
    public let accounts: Accounts
    public let invitations: Invitations
    public let cookies: AuthCookies
    public let oauth: OAuthLogin

    public static func open(
        database: Database, keyRing: KeyRing, sharedState: any SharedState, passwords: PasswordHasher, settings: AuthSettings,
        oauth: OAuthSettings = OAuthSettings()
    ) async throws -> Identity {
        let tokens = await AccessTokens(keyRing: keyRing, lifetime: settings.accessTokenLifetime)
        let sessions = LoginSessions(database: database, keyRing: keyRing, tokens: tokens, settings: settings)
        let invitations = Invitations(keyRing: keyRing)
        let accounts = Accounts(
            database: database, passwords: passwords, throttle: LoginThrottle(sharedState: sharedState, keyRing: keyRing, settings: settings),
            sessions: sessions, invitations: invitations, settings: settings,
            decoyHash: try await passwords.hash(RandomToken.hex(byteCount: 16))
        )
        return Identity(
            database: database, keyRing: keyRing, sharedState: sharedState, settings: settings, passwords: passwords, tokens: tokens,
            resolver: PrincipalResolver(database: database, tokens: tokens, csrf: SessionCSRF(keyRing: keyRing)),
            sessions: sessions, accounts: accounts, invitations: invitations, cookies: AuthCookies(settings: settings),
            oauth: OAuthLogin(settings: oauth, database: database, sharedState: sharedState, keyRing: keyRing, auth: settings, sessions: sessions)
        )
    }
}
