import Core
import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// An OpenID Connect provider (and GitHub-style OAuth endpoints) on a real loopback HTTP server: discovery,
/// `/authorize` (records the request and redirects straight back with a code bound to its nonce and PKCE
/// challenge), `/token` (client credentials, single-use codes, PKCE S256 check, RS256 ID tokens), `/jwks`, and
/// GitHub's `/user` and `/user/emails`. Tests switch misbehaviours at run time and read what it received.
public final class FakeOIDCProvider: Sendable {
    public enum Misbehavior: Sendable, Equatable {
        case none
        case wrongAudience
        case wrongIssuer
        /// Signed with another key that claims the published key id.
        case badSignature
        case wrongNonce
        case expired
        /// `email_verified: false` (OIDC) or an unverified primary email (GitHub).
        case unverifiedEmail
        /// Key rotation: a second key is published and tokens are signed with it under a new key id.
        case rotatedKey
    }

    public struct User: Sendable, Equatable {
        public var subject: String
        public var githubId: Int
        public var email: String
        public var name: String

        public init(subject: String, githubId: Int = 4242, email: String, name: String = "Test User") {
            self.subject = subject
            self.githubId = githubId
            self.email = email
            self.name = name
        }
    }

    /// What `/token` was sent and what it answered (`ok` or the refusal reason).
    public struct TokenCall: Sendable {
        public let form: [String: String]
        public let outcome: String
    }

    private struct Grant: Sendable {
        let clientId: String
        let redirectURI: String
        let nonce: String?
        let challenge: String
        let scope: String
        let user: User
        var used: Bool
    }

    private struct State {
        var misbehavior = Misbehavior.none
        var user = User(subject: "user-1", email: "alice@example.com")
        var grants: [String: Grant] = [:]
        var accessTokens: [String: User] = [:]
        var authorizeRequests: [[String: String]] = []
        var tokenCalls: [TokenCall] = []
        var jwksFetches = 0
    }

    public let clientId: String
    public let clientSecret: String
    public static let keyId = "fake-key-1"
    public static let rotatedKeyId = "fake-key-2"
    private let state = NIOLockedValueBox(State())
    private let server = LoopbackServer()
    private let signingKeys: JWTKeyCollection
    private let impostorKeys: JWTKeyCollection
    private let rotatedKeys: JWTKeyCollection
    private let publishedKey: JSONValue
    private let rotatedPublishedKey: JSONValue

    public var port: Int { server.port }
    public var baseURL: String { server.baseURL }
    public var issuer: String { baseURL }
    public var authorizeRequests: [[String: String]] { state.withLockedValue { $0.authorizeRequests } }
    public var tokenCalls: [TokenCall] { state.withLockedValue { $0.tokenCalls } }
    /// How often the key set was fetched.
    public var jwksFetches: Int { state.withLockedValue { $0.jwksFetches } }

    public func setMisbehavior(_ misbehavior: Misbehavior) { state.withLockedValue { $0.misbehavior = misbehavior } }
    public func setUser(_ user: User) { state.withLockedValue { $0.user = user } }

    private init(clientId: String, clientSecret: String) async throws {
        self.clientId = clientId
        self.clientSecret = clientSecret
        let key = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let impostor = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let rotated = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let kid = JWKIdentifier(string: Self.keyId)
        signingKeys = await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256, kid: kid)
        impostorKeys = await JWTKeyCollection().add(rsa: impostor, digestAlgorithm: .sha256, kid: kid)
        rotatedKeys = await JWTKeyCollection().add(rsa: rotated, digestAlgorithm: .sha256, kid: JWKIdentifier(string: Self.rotatedKeyId))
        publishedKey = try Self.publicJWK(key, kid: Self.keyId)
        rotatedPublishedKey = try Self.publicJWK(rotated, kid: Self.rotatedKeyId)
    }

    private static func publicJWK(_ key: JWTKit.Insecure.RSA.PrivateKey, kid: String) throws -> JSONValue {
        let (modulus, exponent) = try key.publicKey.getKeyPrimitives()
        return .object([
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": .string(kid),
            "n": .string(modulus.base64URLEncoded()), "e": .string(exponent.base64URLEncoded()),
        ])
    }

    private func jwks() -> Response {
        let rotated = state.withLockedValue { state in
            state.jwksFetches += 1
            return state.misbehavior == .rotatedKey
        }
        return FakeWire.json(.object(["keys": .array(rotated ? [publishedKey, rotatedPublishedKey] : [publishedKey])]))
    }

    public static func start(clientId: String = "gateway-client", clientSecret: String = "s3cr3t-client-secret-value") async throws -> FakeOIDCProvider {
        let fake = try await FakeOIDCProvider(clientId: clientId, clientSecret: clientSecret)
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ in fake.discovery() }
        router.get("/authorize") { request, _ in fake.authorize(request) }
        router.post("/token") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            return try await fake.token(request, form: LoopbackServer.form(String(buffer: body)))
        }
        router.get("/jwks") { _, _ in fake.jwks() }
        router.get("/user") { request, _ in fake.githubUser(request) }
        router.get("/user/emails") { request, _ in fake.githubEmails(request) }
        try await fake.server.start(router, name: "fake OIDC provider")
        return fake
    }

    public func stop() async {
        await server.stop()
    }

    /// Settings for a gateway that uses this fake as OIDC provider `name`.
    public func oidcEnvironment(name: String) -> [String: String] {
        let prefix = "OAUTH_\(name.uppercased())_"
        return [prefix + "CLIENT_ID": clientId, prefix + "CLIENT_SECRET": clientSecret, prefix + "ISSUER": issuer]
    }

    /// Settings for a gateway that uses this fake as a GitHub-kind provider `name`.
    public func githubEnvironment(name: String) -> [String: String] {
        let prefix = "OAUTH_\(name.uppercased())_"
        return [
            prefix + "KIND": "github", prefix + "CLIENT_ID": clientId, prefix + "CLIENT_SECRET": clientSecret,
            prefix + "AUTHORIZATION_URL": "\(baseURL)/authorize", prefix + "TOKEN_URL": "\(baseURL)/token",
            prefix + "USERINFO_URL": "\(baseURL)/user", prefix + "EMAILS_URL": "\(baseURL)/user/emails",
        ]
    }

    private func discovery() -> Response {
        FakeWire.json(.object([
            "issuer": .string(issuer), "authorization_endpoint": .string("\(baseURL)/authorize"),
            "token_endpoint": .string("\(baseURL)/token"), "jwks_uri": .string("\(baseURL)/jwks"),
            "userinfo_endpoint": .string("\(baseURL)/userinfo"), "response_types_supported": .array(["code"]),
            "code_challenge_methods_supported": .array(["S256"]), "id_token_signing_alg_values_supported": .array(["RS256"]),
        ]))
    }

    private func authorize(_ request: Request) -> Response {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        state.withLockedValue { $0.authorizeRequests.append(query) }
        guard query["response_type"] == "code", query["client_id"] == clientId, let redirect = query["redirect_uri"],
            let stateValue = query["state"], let challenge = query["code_challenge"], query["code_challenge_method"] == "S256"
        else { return FakeWire.json(.object(["error": "invalid_request"]), status: .badRequest) }
        let code = RandomToken.base62(length: 24)
        state.withLockedValue {
            $0.grants[code] = Grant(
                clientId: clientId, redirectURI: redirect, nonce: query["nonce"], challenge: challenge, scope: query["scope"] ?? "",
                user: $0.user, used: false
            )
        }
        let location = "\(redirect)\(redirect.contains("?") ? "&" : "?")code=\(code)&state=\(stateValue)"
        return Response(status: .found, headers: [.location: location])
    }

    private func token(_ request: Request, form: [String: String]) async throws -> Response {
        func refuse(_ reason: String, status: HTTPResponse.Status = .badRequest) -> Response {
            state.withLockedValue { $0.tokenCalls.append(TokenCall(form: form, outcome: reason)) }
            return FakeWire.json(.object(["error": .string(reason == "invalid_client" ? "invalid_client" : "invalid_grant")]), status: status)
        }
        guard form["grant_type"] == "authorization_code" else { return refuse("unsupported_grant_type") }
        guard form["client_id"] == clientId, form["client_secret"] == clientSecret else { return refuse("invalid_client", status: .unauthorized) }
        // A code is spent by its first presentation, whatever happens next.
        let found: (grant: Grant, wasUsed: Bool)? = state.withLockedValue { state in
            guard let code = form["code"], let grant = state.grants[code] else { return nil }
            state.grants[code]?.used = true
            return (grant, grant.used)
        }
        guard let found else { return refuse("unknown_code") }
        let (grant, wasUsed) = found
        guard !wasUsed else { return refuse("code_reused") }
        guard form["redirect_uri"] == grant.redirectURI else { return refuse("redirect_uri_mismatch") }
        guard let verifier = form["code_verifier"], Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncoded() == grant.challenge else {
            return refuse("pkce_mismatch")
        }
        let misbehavior = state.withLockedValue { $0.misbehavior }
        let accessToken = "fake-at-" + RandomToken.base62(length: 24)
        state.withLockedValue { $0.accessTokens[accessToken] = grant.user }
        var answer: [String: JSONValue] = ["access_token": .string(accessToken), "token_type": "Bearer", "expires_in": 3600, "scope": .string(grant.scope)]
        if grant.scope.split(separator: " ").contains("openid") {
            let now = Date()
            let claims = FakeIDToken(
                iss: .init(value: misbehavior == .wrongIssuer ? "https://impostor.example.com" : issuer),
                sub: .init(value: grant.user.subject),
                aud: .init(value: [misbehavior == .wrongAudience ? "another-client" : clientId]),
                exp: .init(value: misbehavior == .expired ? now.addingTimeInterval(-120) : now.addingTimeInterval(600)),
                iat: .init(value: misbehavior == .expired ? now.addingTimeInterval(-900) : now),
                nonce: misbehavior == .wrongNonce ? "not-the-nonce" : grant.nonce,
                email: grant.user.email, email_verified: misbehavior != .unverifiedEmail, name: grant.user.name
            )
            let (keys, kid) =
                switch misbehavior {
                case .badSignature: (impostorKeys, Self.keyId)
                case .rotatedKey: (rotatedKeys, Self.rotatedKeyId)
                default: (signingKeys, Self.keyId)
                }
            answer["id_token"] = .string(try await keys.sign(claims, kid: JWKIdentifier(string: kid)))
        }
        state.withLockedValue { $0.tokenCalls.append(TokenCall(form: form, outcome: "ok")) }
        return FakeWire.json(.object(answer))
    }

    private func githubUser(_ request: Request) -> Response {
        guard let user = bearerUser(request) else { return FakeWire.json(.object(["message": "Bad credentials"]), status: .unauthorized) }
        return FakeWire.json(.object([
            "id": .int(Int64(user.githubId)), "login": .string(user.subject), "name": .string(user.name), "email": .null,
        ]))
    }

    private func githubEmails(_ request: Request) -> Response {
        guard let user = bearerUser(request) else { return FakeWire.json(.object(["message": "Bad credentials"]), status: .unauthorized) }
        let verified = state.withLockedValue { $0.misbehavior } != .unverifiedEmail
        return FakeWire.json(.array([
            .object(["email": "secondary@example.net", "primary": false, "verified": true]),
            .object(["email": .string(user.email), "primary": true, "verified": .bool(verified)]),
        ]))
    }

    private func bearerUser(_ request: Request) -> User? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let token = String(header.dropFirst("Bearer ".count))
        return state.withLockedValue { $0.accessTokens[token] }
    }

}

struct FakeIDToken: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var nonce: String?
    var email: String
    var email_verified: Bool
    var name: String

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
