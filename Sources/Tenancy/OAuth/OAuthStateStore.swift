import Core
import Crypto
import Foundation

/// What the gateway remembers between sending a browser to the provider and the provider sending it back.
public struct PendingAuthorization: Codable, Sendable, Equatable {
    public var provider: String
    public var nonce: String
    /// PKCE code verifier (RFC 7636); only its S256 challenge leaves the gateway before the token exchange.
    public var verifier: String
    /// The exact redirect URI sent to the provider, repeated in the token request.
    public var redirectURI: String
    /// Same-site path to return the browser to.
    public var returnTo: String?
    /// Set when a signed-in user asked to link this provider to their account.
    public var linkUserId: String?
}

/// `state` → pending authorization, in shared state for 10 minutes and consumed exactly once. The key is an HMAC of
/// the state and the value is sealed with `SecretBox`, so the store holds neither the state nor the verifier in clear.
public struct OAuthStateStore: Sendable {
    public static let lifetime: Duration = .seconds(600)
    static let stateLength = 43

    private let sharedState: any SharedState
    private let keyRing: KeyRing
    private let box: SecretBox

    public init(sharedState: any SharedState, keyRing: KeyRing) {
        self.sharedState = sharedState
        self.keyRing = keyRing
        self.box = SecretBox(keyRing: keyRing)
    }

    /// Stores `pending` and returns the new `state` value.
    public func save(_ pending: PendingAuthorization) async throws -> String {
        let state = RandomToken.base62(length: Self.stateLength)
        let json = String(decoding: try JSONEncoder().encode(pending), as: UTF8.self)
        guard try await sharedState.setIfAbsent(key(state), try box.seal(json), ttl: Self.lifetime) else {
            throw APIError.internalError
        }
        return state
    }

    /// The pending authorization for `state`, removed so a second use finds nothing. nil: unknown, expired or used.
    public func consume(_ state: String) async throws -> PendingAuthorization? {
        guard state.utf8.count == Self.stateLength, state.utf8.allSatisfy({ $0 < 0x80 && Character(Unicode.Scalar($0)).isLetter || ($0 >= 0x30 && $0 <= 0x39) })
        else { return nil }
        let key = key(state)
        guard let sealed = try await sharedState.get(key) else { return nil }
        // Only the caller whose delete removed the key may use it: two concurrent callbacks cannot both succeed.
        guard try await sharedState.delete(key) else { return nil }
        guard let json = try? box.open(sealed), let pending = try? JSONDecoder().decode(PendingAuthorization.self, from: Data(json.utf8)) else {
            return nil
        }
        return pending
    }

    private func key(_ state: String) -> String {
        "oauth:state:" + keyRing.hash(state, purpose: .tokenHash)
    }
}

/// PKCE (RFC 7636) with S256.
public enum PKCE {
    public static func verifier() -> String { RandomToken.base62(length: 64) }

    public static func challenge(for verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncoded()
    }
}
