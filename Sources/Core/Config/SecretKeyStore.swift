import Foundation
import Crypto

/// Resolves the server secret: the configured one, or in development a generated one kept under the data directory.
public enum SecretKeyStore {
    public struct Resolution: Sendable {
        public let secret: String
        /// Set when a development secret was used; the caller logs it once logging is up.
        public let warning: String?
    }

    public static func resolve(_ config: AppConfig) throws -> Resolution {
        if let secret = config.secretKey { return Resolution(secret: secret, warning: nil) }
        precondition(config.environment == .development, "production without a secret is refused by AppConfig.load")
        let path = (config.dataDirectory as NSString).appendingPathComponent("secret.key")
        let fm = FileManager.default
        if let data = fm.contents(atPath: path), let text = String(data: data, encoding: .utf8) {
            let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if secret.utf8.count >= 32 {
                return Resolution(secret: secret, warning: "using the development secret in \(path); set AIHIGRESS_SECRET_KEY in production")
            }
        }
        try fm.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let secret = RandomToken.hex(byteCount: 32)
        if fm.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) == false {
            throw SecretKeyError(path: path)
        }
        return Resolution(secret: secret, warning: "generated a development secret in \(path); set AIHIGRESS_SECRET_KEY in production")
    }
}

public struct SecretKeyError: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "cannot write the development secret to \(path)" }
}
