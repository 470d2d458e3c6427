import Core
import Foundation
import JWTKit

/// The claims of an OpenID Connect ID token that sign-in relies on.
public struct IDTokenClaims: JWTIdentityToken, Equatable {
    public var iss: IssuerClaim
    public var sub: SubjectClaim
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var nonce: String?
    public var email: String?
    public var emailVerified: BoolClaim?
    public var name: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, nonce, email, name
        case emailVerified = "email_verified"
    }

    public var audience: AudienceClaim { aud }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Verifies ID tokens against the provider's JWKS: signature (asymmetric algorithms only), `aud` naming our client
/// id, `exp`, `iss` and `nonce`. The key set is cached per provider and fetched again when a token names a key id
/// the cache does not know (key rotation), at most every 2 seconds.
public actor IDTokenVerifier {
    private struct KeySet {
        var keys: JWTKeyCollection
        var kids: Set<String>
        var fetchedAt: ContinuousClock.Instant
    }

    private var keySets: [String: KeySet] = [:]
    private let http: OAuthHTTP
    static let refetchInterval: Duration = .seconds(2)
    static let algorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

    public init(http: OAuthHTTP = OAuthHTTP()) {
        self.http = http
    }

    /// Why a token was refused, for the audit log; the client sees only `invalid_id_token`.
    public enum Rejection: String, Sendable {
        case malformed, algorithm, unknownKey = "unknown_key", signature, audience, expired, issuer, nonce
    }

    public struct Refused: Error, Sendable {
        public let reason: Rejection
    }

    public func verify(
        _ token: String, provider: OAuthProviderSettings, jwksURL: String, expectedNonce: String
    ) async throws -> IDTokenClaims {
        let header = try Self.header(token)
        guard let alg = header["alg"]?.stringValue, Self.algorithms.contains(alg) else { throw Refused(reason: .algorithm) }
        let kid = header["kid"]?.stringValue
        var set = try await keySet(provider: provider.name, url: jwksURL, needing: kid)
        if let kid, !set.kids.contains(kid) {
            set = try await keySet(provider: provider.name, url: jwksURL, needing: kid, refresh: true)
            guard set.kids.contains(kid) else { throw Refused(reason: .unknownKey) }
        }
        let claims: IDTokenClaims
        do {
            claims = try await set.keys.verify(token, as: IDTokenClaims.self, expectedAudience: provider.clientId, iteratingKeys: kid == nil)
        } catch let error as JWTError {
            switch error.errorType {
            case .claimVerificationFailure:
                throw Refused(reason: error.failedClaim is ExpirationClaim ? .expired : error.failedClaim is AudienceClaim ? .audience : .malformed)
            case .generic where error.identifier == "Audience":
                throw Refused(reason: .audience)
            case .signatureVerificationFailed:
                throw Refused(reason: .signature)
            default:
                throw Refused(reason: .malformed)
            }
        } catch {
            throw Refused(reason: .malformed)
        }
        guard claims.iss.value == provider.issuer else { throw Refused(reason: .issuer) }
        guard let nonce = claims.nonce, Array(nonce.utf8).constantTimeEquals(Array(expectedNonce.utf8)) else {
            throw Refused(reason: .nonce)
        }
        guard !claims.sub.value.isEmpty, claims.sub.value.utf8.count <= 255 else { throw Refused(reason: .malformed) }
        return claims
    }

    private func keySet(provider: String, url: String, needing kid: String?, refresh: Bool = false) async throws -> KeySet {
        if let cached = keySets[provider] {
            let mayRefetch = cached.fetchedAt.duration(to: .now) >= Self.refetchInterval
            if !refresh || !mayRefetch { return cached }
        }
        let document: JSONValue
        do {
            document = try await http.getJSON(url, what: "jwks")
        } catch {
            throw APIError(.badGateway, .upstream, "the identity provider's signing keys could not be fetched", code: "oauth_provider_unavailable")
        }
        let keys = JWTKeyCollection()
        var kids: Set<String> = []
        for entry in document["keys"]?.arrayValue ?? [] {
            let json = JSONText.render(entry)
            guard let jwk = try? JWK(json: json), let id = jwk.keyIdentifier?.string else { continue }
            // Only signing keys: skip keys marked for encryption.
            if let use = entry["use"]?.stringValue, use != "sig" { continue }
            if (try? await keys.add(jwk: jwk)) != nil { kids.insert(id) }
        }
        let set = KeySet(keys: keys, kids: kids, fetchedAt: .now)
        keySets[provider] = set
        return set
    }

    static func header(_ token: String) throws -> JSONValue {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 16_384, let data = Data(base64URLEncoded: String(parts[0])),
            let header = try? JSONText.parse(Array(data)), header.objectValue != nil
        else { throw Refused(reason: .malformed) }
        return header
    }
}
