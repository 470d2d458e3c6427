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
    /// The hashing purposes' HMACs already keyed: a copy hashes one value without deriving the key's pads again
    /// (keying was two thirds of a hash, and every API request hashes its key).
    private let keyedHashes: [Purpose: HMAC<SHA256>]

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
        self.keyedHashes = keys.mapValues { HMAC<SHA256>(key: $0) }
    }

    public func key(for purpose: Purpose) -> SymmetricKey {
        keys[purpose]!
    }

    /// Hex HMAC-SHA-256 of `value` under the purpose key: how API keys, refresh tokens and codes are stored.
    public func hash(_ value: String, purpose: Purpose) -> String {
        var hmac = keyedHashes[purpose]!
        var value = value
        value.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        return hmac.finalize().withUnsafeBytes { Hex.lowercase($0) }
    }
}
