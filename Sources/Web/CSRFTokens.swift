import Core
import Crypto
import Foundation

/// CSRF tokens for console forms: an HMAC of the browser session id and an expiry, so a forged form from another
/// site (which cannot read the session cookie or the page) carries no valid token.
public struct CSRFTokens: Sendable {
    private let key: SymmetricKey
    public let lifetimeSeconds: Int64

    public init(keyRing: KeyRing, lifetimeSeconds: Int64 = 8 * 3600) {
        self.key = keyRing.key(for: .csrf)
        self.lifetimeSeconds = lifetimeSeconds
    }

    public func issue(sessionId: String, now: Int64 = EpochMillis.now() / 1000) -> String {
        let expires = now + lifetimeSeconds
        return "\(expires).\(mac(sessionId: sessionId, expires: expires))"
    }

    public func verify(_ token: String, sessionId: String, now: Int64 = EpochMillis.now() / 1000) -> Bool {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let expires = Int64(parts[0]), expires > now else { return false }
        return Array(parts[1].utf8).constantTimeEquals(Array(mac(sessionId: sessionId, expires: expires).utf8))
    }

    private func mac(sessionId: String, expires: Int64) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(sessionId)|\(expires)".utf8), using: key)
        return Data(code).base64URLEncoded()
    }
}
