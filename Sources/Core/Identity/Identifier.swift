import Foundation

/// Time-ordered identifiers (UUID version 7, lowercase text): sortable by creation, so they double as pagination cursors.
public enum Identifier {
    public static func make(now: Date = Date()) -> String {
        var bytes = RandomToken.bytes(16)
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        for i in 0..<6 { bytes[i] = UInt8((millis >> (8 * (5 - UInt64(i)))) & 0xff) }
        bytes[6] = (bytes[6] & 0x0f) | 0x70
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, digit) in Hex.lowercase(bytes).utf8.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { text.append(UInt8(ascii: "-")) }
            text.append(digit)
        }
        return String(decoding: text, as: UTF8.self)
    }

    public static func isWellFormed(_ text: String) -> Bool {
        text.count == 36 && UUID(uuidString: text) != nil
    }
}

/// Wall-clock milliseconds since the epoch: the one timestamp representation in every table (same in both dialects).
public enum EpochMillis {
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
