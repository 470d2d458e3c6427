/// Cryptographically random tokens for keys, secrets and ids.
public enum RandomToken {
    private static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Eight bytes per draw: each draw from the system generator is a system call.
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: generator.next()) { out.append(contentsOf: $0) }
        }
        out.removeLast(out.count - count)
        return out
    }

    public static func hex(byteCount: Int) -> String {
        Hex.lowercase(bytes(byteCount))
    }

    /// `length` characters from [0-9A-Za-z]; rejection sampling keeps every character equally likely.
    public static func base62(length: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while out.count < length {
            for byte in bytes(length - out.count + 8) where byte < 248 && out.count < length {
                out.append(base62[Int(byte % 62)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation
