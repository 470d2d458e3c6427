import Crypto
import Foundation

/// Encrypts secrets at rest (provider keys, OAuth client secrets) with AES-GCM; output is `v1:` + base64(nonce‖ciphertext‖tag).
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public init(keyRing: KeyRing) {
        self.key = keyRing.key(for: .secretEncryption)
    }

    public func seal(_ plaintext: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw SecretBoxError.malformed }
        return "v1:" + combined.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard sealed.hasPrefix("v1:"), let data = Data(base64Encoded: String(sealed.dropFirst(3))) else {
            throw SecretBoxError.malformed
        }
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key)
        guard let text = String(data: plain, encoding: .utf8) else { throw SecretBoxError.malformed }
        return text
    }
}

public enum SecretBoxError: Error, Sendable {
    case malformed
}
