import Core
import Crypto
import Foundation

/// CSRF token for cookie-authenticated API calls: an HMAC of the login session id, so it needs no storage, is
/// unknown to other sites, and dies with the session. Browsers read it from the non-HttpOnly `ahg_csrf` cookie
/// and send it back in `X-CSRF-Token` on unsafe methods.
public struct SessionCSRF: Sendable {
    private let key: SymmetricKey

    public init(keyRing: KeyRing) {
        self.key = keyRing.key(for: .csrf)
    }

    public func token(sessionId: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("api-session:\(sessionId)".utf8), using: key)
        return Data(mac).base64URLEncoded()
    }

    public func isValid(_ presented: String?, sessionId: String) -> Bool {
        guard let presented else { return false }
        let expected = token(sessionId: sessionId)
        return Array(presented.utf8).constantTimeEquals(Array(expected.utf8))
    }
}
