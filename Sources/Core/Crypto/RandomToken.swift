/// Cryptographically random tokens for keys, secrets and ids.
public enum RandomToken {
    private static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    public static func hex(byteCount: Int) -> String {
        bytes(byteCount).map { String(format: "%02x", $0) }.joined()
    }

    /// `length` characters from [0-9A-Za-z]; rejection sampling keeps every character equally likely.
    public static func base62(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while out.count < length {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            if byte < 248 { out.append(base62[Int(byte % 62)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation
