import Core
import Crypto
import Foundation

/// What a successful login or refresh hands back.
public struct IssuedTokens: Sendable {
    public let userId: String
    public let sessionId: String
    public let accessToken: String
    public let accessExpiresAt: Int64
    public let refreshToken: String
    public let refreshExpiresAt: Int64
    public let csrfToken: String

    public var json: JSONValue {
        .object([
            "token_type": "Bearer",
            "access_token": .string(accessToken),
            "expires_in": .int(max(0, (accessExpiresAt - EpochMillis.now()) / 1000)),
            "refresh_token": .string(refreshToken),
            "refresh_expires_at": .int(refreshExpiresAt),
            "session_id": .string(sessionId),
            "user_id": .string(userId),
        ])
    }
}

/// Refresh tokens: `ahr-` + 64 hex characters, stored only as an HMAC. The successor of a token is derived from
/// it (HMAC under the token key), so a replay inside the grace window can be answered with the same successor
/// without ever storing a token in the clear.
enum RefreshTokenFormat {
    static let prefix = "ahr-"

    static func random() -> String {
        prefix + RandomToken.hex(byteCount: 32)
    }

    static func successor(of token: String, keyRing: KeyRing) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("successor:\(token)".utf8), using: keyRing.key(for: .tokenHash))
        return prefix + Hex.lowercase(mac)
    }

    static func isWellFormed(_ token: String) -> Bool {
        token.hasPrefix(prefix) && token.utf8.count == prefix.utf8.count + 64
            && token.utf8.dropFirst(prefix.utf8.count).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
