import Core
import Foundation
import NIOHTTP1
import SQLKit
import Testing
import TestSupport

/// OAuth 2.0 / OpenID Connect sign-in against the real server, on both databases, with an in-test identity
/// provider over real loopback HTTP. Redirects are never followed automatically: each hop is checked.
@Suite struct OAuthTests {
    static let browser = HTTPTestClient.withoutRedirects

    /// A running gateway configured with the fake as provider `name`.
    struct Setup {
        let server: ServerProcess
        let fake: FakeOIDCProvider
        let location: DatabaseLocation
        let provider: String

        func stop() async throws {
            try await server.stop()
            await fake.stop()
        }
    }

    static func setUp(
        _ location: DatabaseLocation, provider: String = "corp", github: Bool = false, openRegistration: Bool = true
    ) async throws -> Setup {
        let fake = try await FakeOIDCProvider.start()
        var extra = ["OAUTH_PROVIDERS": provider, "AIHIGRESS_OPEN_REGISTRATION": openRegistration ? "true" : "false"]
        extra.merge(github ? fake.githubEnvironment(name: provider) : fake.oidcEnvironment(name: provider)) { $1 }
        let server = try await Deployment(database: location, extra: extra).start()
        return Setup(server: server, fake: fake, location: location, provider: provider)
    }

    // MARK: - The flow, hop by hop

    /// `GET /auth/oauth/{provider}/authorize` → the provider URL it redirects to.
    static func authorize(_ setup: Setup, returnTo: String? = nil) async throws -> String {
        var url = "\(setup.server.baseURL)/auth/oauth/\(setup.provider)/authorize"
        if let returnTo { url += "?return_to=" + (returnTo.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
        let reply = try await browser.send(.GET, url)
        guard reply.status == 302, let location = reply.headers.first(name: "location") else {
            throw TestSetupError("authorize answered \(reply.status): \(reply.body)")
        }
        return location
    }

    /// Visits the provider's authorize URL; the fake redirects back at once. Returns the callback URL.
    static func visitProvider(_ url: String) async throws -> String {
        let reply = try await browser.send(.GET, url)
        guard reply.status == 302, let location = reply.headers.first(name: "location") else {
            throw TestSetupError("provider answered \(reply.status): \(reply.body)")
        }
        return location
    }

    static func callback(_ url: String, json: Bool = true) async throws -> HTTPTestClient.Reply {
        try await browser.send(.GET, url, headers: json ? [("Accept", "application/json")] : [])
    }

    /// The whole round trip, answered as JSON.
    static func signIn(_ setup: Setup) async throws -> HTTPTestClient.Reply {
        try await callback(try await visitProvider(try await authorize(setup)))
    }

    static func query(_ url: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in URLComponents(string: url)?.queryItems ?? [] { out[item.name] = item.value ?? "" }
        return out
    }

    /// `url` with some query parameters replaced.
    static func replacing(_ url: String, _ changes: [String: String?]) -> String {
        var components = URLComponents(string: url)!
        var items = (components.queryItems ?? []).filter { changes[$0.name] == nil }
        for (name, value) in changes { if let value { items.append(URLQueryItem(name: name, value: value)) } }
        components.queryItems = items
        return components.string!
    }

    static func count(_ location: DatabaseLocation, _ sql: String) async throws -> Int {
        let database = try await Database.open(location, poolSize: 1, logger: TestEnvironment.logger)
        do {
            let row = try await database.first(SQLQueryString(sql))
            let value = try row?.decode(column: "n", as: Int64.self) ?? 0
            await database.close()
            return Int(value)
        } catch {
            await database.close()
            throw error
        }
    }

    static func sessions(_ setup: Setup) async throws -> Int {
        try await count(setup.location, "SELECT COUNT(*) AS n FROM login_sessions")
    }

    static func client(_ setup: Setup, _ reply: HTTPTestClient.Reply) throws -> ManagementClient {
        try ManagementClient(baseURL: setup.server.baseURL, tokens: reply.json())
    }

    // MARK: - Tests

    @Test func fullSignInCreatesTheUserAndASessionAndTheSecondReusesTheLink() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let providers = try await http.send(.GET, "\(setup.server.baseURL)/auth/oauth/providers")
            #expect(providers.status == 200)
            #expect(providers.body.contains("\"corp\""))
            #expect(!providers.body.contains(setup.fake.clientSecret))

            let providerURL = try await Self.authorize(setup)
            #expect(providerURL.hasPrefix("\(setup.fake.baseURL)/authorize?"))
            let sent = Self.query(providerURL)
            #expect(sent["response_type"] == "code")
            #expect(sent["client_id"] == setup.fake.clientId)
            #expect(sent["redirect_uri"] == "\(setup.server.baseURL)/auth/oauth/corp/callback")
            #expect(sent["scope"] == "openid email profile")
            #expect(sent["code_challenge_method"] == "S256")
            #expect((sent["state"] ?? "").count >= 32)
            #expect((sent["nonce"] ?? "").count >= 16)
            #expect((sent["code_challenge"] ?? "").count == 43)
            #expect(sent["client_secret"] == nil)

            let reply = try await Self.callback(try await Self.visitProvider(providerURL))
            #expect(reply.status == 200, "\(reply.body)")
            let first = try Self.client(setup, reply)
            let me = try await first.get("/auth/me")
            #expect(me.status == 200)
            #expect(try me.json()["email"] as? String == "alice@example.com")
            #expect(try me.json()["display_name"] as? String == "Test User")
            let sessions = try await first.get("/auth/sessions")
            #expect(sessions.body.contains("\"oauth:corp\""))

            // PKCE: the verifier reached the token endpoint and hashes to the challenge sent with the authorization.
            let exchange = try #require(setup.fake.tokenCalls.last)
            #expect(exchange.outcome == "ok")
            let verifier = try #require(exchange.form["code_verifier"])
            #expect((43...128).contains(verifier.count))
            #expect(exchange.form["redirect_uri"] == sent["redirect_uri"])

            // Second sign-in: the same user through the stored link, a new session.
            let second = try Self.client(setup, try await Self.signIn(setup))
            #expect(second.userId == first.userId)
            #expect(second.sessionId != first.sessionId)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM users") == 1)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM oauth_identities WHERE provider = 'corp' AND subject = 'user-1'") == 1)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'oauth.linked'") == 1)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login.succeeded' AND details LIKE '%oauth:corp%'") == 2)

            // Browsers: cookies and a redirect to the same-site return path.
            let browserCallback = try await Self.visitProvider(try await Self.authorize(setup, returnTo: "/console/keys"))
            let browserReply = try await Self.callback(browserCallback, json: false)
            #expect(browserReply.status == 302)
            #expect(browserReply.headers.first(name: "location") == "/console/keys")
            let cookies = browserReply.headers["set-cookie"].joined(separator: "\n")
            #expect(cookies.contains("ahg_access="))
            #expect(cookies.contains("ahg_refresh="))
            #expect(cookies.contains("HttpOnly"))

            // Only same-site paths may be return targets.
            for bad in ["//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"] {
                let refused = try await Self.browser.send(
                    .GET, "\(setup.server.baseURL)/auth/oauth/corp/authorize?return_to=\(bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
                )
                #expect(refused.status == 400, "\(bad)")
                #expect(refused.problemType?.hasSuffix("/invalid_return_to") == true)
            }
            // Unknown providers are 404.
            #expect(try await Self.browser.send(.GET, "\(setup.server.baseURL)/auth/oauth/nope/authorize").status == 404)
            try await setup.stop()
        }
    }

    @Test func aVerifiedEmailLinksToTheExistingAccountAndAnUnverifiedOneDoesNot() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let bob = try await ManagementClient.register(setup.server, email: "bob@example.com")
            let carol = try await ManagementClient.register(setup.server, email: "carol@example.com")

            // Unverified email matching an existing account: refused, nothing linked, no session.
            setup.fake.setUser(.init(subject: "bob-at-corp", email: "bob@example.com"))
            setup.fake.setMisbehavior(.unverifiedEmail)
            let before = try await Self.sessions(setup)
            let refused = try await Self.signIn(setup)
            #expect(refused.status == 409, "\(refused.body)")
            #expect(refused.problemType?.hasSuffix("/oauth_email_not_verified") == true)
            #expect(try await Self.sessions(setup) == before)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM oauth_identities") == 0)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login.failed' AND details LIKE '%oauth_email_not_verified%'") == 1)

            // Verified: linked to bob, signed in as bob.
            setup.fake.setMisbehavior(.none)
            let linked = try Self.client(setup, try await Self.signIn(setup))
            #expect(linked.userId == bob.userId)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM oauth_identities WHERE user_id = '\(bob.userId)'") == 1)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'oauth.linked' AND details LIKE '%verified_email%'") == 1)

            // A new person whose provider does not verify the email still gets an account, marked unverified.
            setup.fake.setUser(.init(subject: "dave-at-corp", email: "dave@example.com"))
            setup.fake.setMisbehavior(.unverifiedEmail)
            let dave = try Self.client(setup, try await Self.signIn(setup))
            #expect(dave.userId != bob.userId && dave.userId != carol.userId)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM users WHERE email = 'dave@example.com' AND email_verified = \((location.dialect == .sqlite) ? "0" : "FALSE")") == 1)
            try await setup.stop()
        }
    }

    @Test func newAccountsNeedOpenRegistration() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location, openRegistration: false)
            let reply = try await Self.signIn(setup)
            #expect(reply.status == 403)
            #expect(reply.problemType?.hasSuffix("/registration_closed") == true)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM users") == 0)
            #expect(try await Self.sessions(setup) == 0)
            try await setup.stop()
        }
    }

    @Test func unknownAndReplayedStatesAreRefused() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let callbackURL = try await Self.visitProvider(try await Self.authorize(setup))

            for changed in [Self.replacing(callbackURL, ["state": String(repeating: "A", count: 43)]), Self.replacing(callbackURL, ["state": nil]),
                            Self.replacing(callbackURL, ["state": "x"])] {
                let wrong = try await Self.callback(changed)
                #expect(wrong.status == 400)
                #expect(wrong.problemType?.hasSuffix("/invalid_state") == true)
            }
            // Refusing a wrong state did not spend the real one.
            #expect(try await Self.callback(callbackURL).status == 200)
            // The state is single-use: the same callback again is refused and creates nothing.
            let replay = try await Self.callback(callbackURL)
            #expect(replay.status == 400)
            #expect(replay.problemType?.hasSuffix("/invalid_state") == true)
            #expect(try await Self.sessions(setup) == 1)
            try await setup.stop()
        }
    }

    @Test func aReplayedCodeIsRefusedByTheProviderAndReportedWithoutASession() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let firstCallback = try await Self.visitProvider(try await Self.authorize(setup))
            #expect(try await Self.callback(firstCallback).status == 200)
            let code = try #require(Self.query(firstCallback)["code"])

            // A fresh, valid state carrying the already used code.
            let freshState = try #require(Self.query(try await Self.authorize(setup))["state"])
            let replayed = try await Self.callback(Self.replacing(firstCallback, ["state": freshState, "code": code]))
            #expect(replayed.status == 502)
            #expect(replayed.problemType?.hasSuffix("/oauth_token_exchange_failed") == true)
            #expect(setup.fake.tokenCalls.last?.outcome == "code_reused")
            #expect(!replayed.body.contains("invalid_grant"), "no provider body in the answer")
            #expect(try await Self.sessions(setup) == 1)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login.failed' AND details LIKE '%oauth_token_exchange_failed%'") == 1)
            try await setup.stop()
        }
    }

    @Test func thePKCEVerifierIsSentAndChecked() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            // A code issued for one authorization (and its challenge), presented with another authorization's state:
            // the gateway sends that state's verifier, which does not match, and the provider refuses.
            let callbackA = try await Self.visitProvider(try await Self.authorize(setup))
            let stateB = try #require(Self.query(try await Self.authorize(setup))["state"])
            let mixed = try await Self.callback(Self.replacing(callbackA, ["state": stateB]))
            #expect(mixed.status == 502)
            let call = try #require(setup.fake.tokenCalls.last)
            #expect(call.outcome == "pkce_mismatch")
            #expect(call.form["code_verifier"]?.isEmpty == false)
            #expect(try await Self.sessions(setup) == 0)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM users") == 0)

            // With its own verifier the exchange passes the provider's check.
            #expect(try await Self.signIn(setup).status == 200)
            #expect(setup.fake.tokenCalls.last?.outcome == "ok")
            try await setup.stop()
        }
    }

    @Test func badIDTokensAreRefusedWithoutASession() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let cases: [(FakeOIDCProvider.Misbehavior, String)] = [
                (.wrongNonce, "nonce"), (.badSignature, "signature"), (.wrongAudience, "audience"), (.expired, "expired"),
                (.wrongIssuer, "issuer"),
            ]
            for (misbehavior, reason) in cases {
                setup.fake.setMisbehavior(misbehavior)
                let reply = try await Self.signIn(setup)
                #expect(reply.status == 401, "\(misbehavior): \(reply.body)")
                let problem = try reply.problem()
                #expect((problem["type"] as? String)?.hasSuffix("/invalid_id_token") == true)
                #expect((problem["detail"] as? String)?.contains(reason) == true, "\(misbehavior): \(problem)")
                #expect(setup.fake.tokenCalls.last?.outcome == "ok", "the provider issued a token; the gateway refused it")
            }
            #expect(try await Self.sessions(setup) == 0)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM users") == 0)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM oauth_identities") == 0)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login.failed' AND details LIKE '%invalid_id_token%'") == cases.count)
            // The same provider works again once it behaves.
            setup.fake.setMisbehavior(.none)
            #expect(try await Self.signIn(setup).status == 200)
            try await setup.stop()
        }
    }

    @Test func theKeySetIsCachedAndFetchedAgainForAnUnknownKeyId() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            #expect(try await Self.signIn(setup).status == 200)
            #expect(try await Self.signIn(setup).status == 200)
            #expect(setup.fake.jwksFetches == 1, "cached between sign-ins")
            // The provider rotates its key: the new key id is unknown, so the set is fetched again (after the
            // 2 s minimum gap between fetches) and the token verifies.
            setup.fake.setMisbehavior(.rotatedKey)
            try await Task.sleep(for: .milliseconds(2100))
            let rotated = try await Self.signIn(setup)
            #expect(rotated.status == 200, "\(rotated.body)")
            #expect(setup.fake.jwksFetches == 2)
            try await setup.stop()
        }
    }

    @Test func aSignedInUserLinksAProviderExplicitly() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let erin = try await ManagementClient.register(setup.server, email: "erin@example.com")
            setup.fake.setUser(.init(subject: "erin-at-corp", email: "erin.work@corp.example"))

            #expect(try await http.send(.POST, "\(setup.server.baseURL)/auth/oauth/corp/link").status == 401)
            let start = try await erin.send(.POST, "/auth/oauth/corp/link", body: ["return_to": "/console/profile"])
            #expect(start.status == 200, "\(start.body)")
            let authorizeURL = try #require(try start.json()["authorize_url"] as? String)
            #expect(authorizeURL.hasPrefix("\(setup.fake.baseURL)/authorize?"))
            let callbackURL = try await Self.visitProvider(authorizeURL)
            let linked = try await Self.callback(callbackURL)
            #expect(linked.status == 200, "\(linked.body)")
            #expect(try linked.json()["linked"] as? Bool == true)
            #expect(try linked.json()["user_id"] as? String == erin.userId)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'oauth.linked' AND details LIKE '%explicit%'") == 1)

            // Signing in with that identity is now signing in as erin, though the emails differ.
            let signedIn = try Self.client(setup, try await Self.signIn(setup))
            #expect(signedIn.userId == erin.userId)

            // Someone else cannot take the identity over.
            let frank = try await ManagementClient.register(setup.server, email: "frank@example.com")
            let frankStart = try await frank.send(.POST, "/auth/oauth/corp/link")
            let taken = try await Self.callback(try await Self.visitProvider(try #require(try frankStart.json()["authorize_url"] as? String)))
            #expect(taken.status == 409)
            #expect(taken.problemType?.hasSuffix("/oauth_identity_taken") == true)

            // Browsers linking are sent back to their return path.
            let again = try await erin.send(.POST, "/auth/oauth/corp/link", body: ["return_to": "/console/profile"])
            let browserLinked = try await Self.callback(
                try await Self.visitProvider(try #require(try again.json()["authorize_url"] as? String)), json: false
            )
            #expect(browserLinked.status == 302)
            #expect(browserLinked.headers.first(name: "location") == "/console/profile")
            try await setup.stop()
        }
    }

    @Test func gitHubKindSignsInWithThePrimaryVerifiedEmail() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location, provider: "github", github: true)
            setup.fake.setUser(.init(subject: "octocat", githubId: 583231, email: "octo@example.com", name: "The Octocat"))
            let providerURL = try await Self.authorize(setup)
            let sent = Self.query(providerURL)
            #expect(sent["scope"] == "read:user user:email")
            #expect(sent["nonce"] == nil)
            #expect(sent["code_challenge_method"] == "S256")
            let reply = try await Self.callback(try await Self.visitProvider(providerURL))
            #expect(reply.status == 200, "\(reply.body)")
            let client = try Self.client(setup, reply)
            let me = try await client.get("/auth/me")
            #expect(try me.json()["email"] as? String == "octo@example.com")
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM oauth_identities WHERE provider = 'github' AND subject = '583231'") == 1)
            #expect(try await Self.count(location, "SELECT COUNT(*) AS n FROM users WHERE email_verified = \((location.dialect == .sqlite) ? "1" : "TRUE")") == 1)
            let again = try Self.client(setup, try await Self.signIn(setup))
            #expect(again.userId == client.userId)
            #expect(setup.fake.tokenCalls.last?.form["code_verifier"]?.isEmpty == false)
            try await setup.stop()
        }
    }

    @Test func secretsNeverAppearInTheLogAndMissingSettingsAreNamed() async throws {
        try await TestDatabase.withFresh { location in
            let setup = try await Self.setUp(location)
            let reply = try await Self.signIn(setup)
            #expect(reply.status == 200)
            let tokens = try reply.json()
            setup.fake.setMisbehavior(.badSignature)
            #expect(try await Self.signIn(setup).status == 401)
            let code = Self.query(try await Self.visitProvider(try await Self.authorize(setup)))["code"] ?? "none"
            try await setup.server.stop()
            await setup.fake.stop()
            let log = setup.server.logLines.joined(separator: "\n")
            #expect(log.contains("/auth/oauth/corp/callback"), "the access log saw the callbacks")
            for secret in [setup.fake.clientSecret, tokens["access_token"] as? String ?? "-", tokens["refresh_token"] as? String ?? "-", code] {
                #expect(!log.contains(secret), "secret-like value in the log")
            }

            // A listed provider without its settings stops start-up, naming each variable and echoing no secret.
            let env = ServerProcess.baseEnvironment(database: location, dataDirectory: try TestEnvironment.temporaryDirectory()).merging([
                "OAUTH_PROVIDERS": "corp,other", "OAUTH_CORP_CLIENT_SECRET": "do-not-echo-this-secret", "OAUTH_OTHER_CLIENT_ID": "x",
                "OAUTH_OTHER_CLIENT_SECRET": "y", "OAUTH_OTHER_ISSUER": "not a url",
            ]) { $1 }
            let outcome = try await CLI.run(["serve"], environment: env)
            #expect(outcome.status == 2)
            let output = outcome.stdout + outcome.stderr
            #expect(output.contains("OAUTH_CORP_CLIENT_ID"))
            #expect(output.contains("OAUTH_CORP_ISSUER"))
            #expect(output.contains("OAUTH_OTHER_ISSUER"))
            #expect(!output.contains("do-not-echo-this-secret"))
        }
    }
}
