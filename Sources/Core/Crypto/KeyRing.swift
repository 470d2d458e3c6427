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
    private let keyedHashes: [Purpose: KeyedSHA256]

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
        self.keyedHashes = keys.mapValues { KeyedSHA256(key: $0) }
    }

    public func key(for purpose: Purpose) -> SymmetricKey {
        keys[purpose]!
    }

    /// Hex HMAC-SHA-256 of `value` under the purpose key: how API keys, refresh tokens and codes are stored.
    public func hash(_ value: String, purpose: Purpose) -> String {
        var value = value
        let mac = value.withUTF8 { keyedHashes[purpose]!.authenticationCode(for: UnsafeRawBufferPointer($0)) }
        return mac.withUnsafeBytes { Hex.lowercase($0) }
    }
}

/// HMAC-SHA-256 (RFC 2104) with the key's two padded blocks hashed once. swift-crypto's `HMAC` does the same but,
/// generic over its hash and not inlinable, runs unspecialised: it boxed its hash states on the heap on every call
/// (PERFORMANCE.md, session 16). `CryptoTests` checks the result against an independent HMAC.
struct KeyedSHA256: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    init(key: SymmetricKey) {
        let blockSize = 64
        var block = [UInt8](repeating: 0, count: blockSize)
        key.withUnsafeBytes { bytes in
            if bytes.count > blockSize {
                SHA256.hash(data: bytes).withUnsafeBytes { block.replaceSubrange(0..<$0.count, with: $0) }
            } else {
                block.replaceSubrange(0..<bytes.count, with: bytes)
            }
        }
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    func authenticationCode(for message: UnsafeRawBufferPointer) -> SHA256Digest {
        var inner = self.inner
        inner.update(bufferPointer: message)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}
