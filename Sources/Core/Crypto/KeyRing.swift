import Crypto
import Foundation

/// Per-purpose keys derived from the one server secret (HKDF-SHA-256), so a leak of one purpose's key reveals no other.
public struct KeyRing: Sendable {
    public enum Purpose: String, Sendable, CaseIterable {
        case apiKeyHash = "aihigress/api-key-hash/v1"
        case tokenHash = "aihigress/token-hash/v1"
        case secretEncryption = "aihigress/secret-encryption/v1"
        case accessTokenSigning = "aihigress/access-token-signing/v1"
        case csrf = "aihigress/csrf/v1"
    }

    private let keys: [Purpose: SymmetricKey]

    public init(secret: String) {
        let master = SymmetricKey(data: Data(secret.utf8))
        var keys: [Purpose: SymmetricKey] = [:]
        for purpose in Purpose.allCases {
            keys[purpose] = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: master,
                salt: Data("aihigress".utf8),
                info: Data(purpose.rawValue.utf8),
                outputByteCount: 32
            )
        }
        self.keys = keys
    }

    public func key(for purpose: Purpose) -> SymmetricKey {
        keys[purpose]!
    }

    /// Hex HMAC-SHA-256 of `value` under the purpose key: how API keys, refresh tokens and codes are stored.
    public func hash(_ value: String, purpose: Purpose) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: key(for: purpose))
        return Hex.lowercase(mac)
    }
}
