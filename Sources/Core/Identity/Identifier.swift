import Foundation
import NIOConcurrencyHelpers

/// Time-ordered identifiers (UUID version 7, lowercase text): sortable by creation, so they double as pagination cursors.
/// Ids made in this process sort in the order they were made, even within one millisecond: when the clock has not
/// moved past the last id's millisecond, that id's 74 random bits (`rand_a`, `rand_b`) are advanced by a random
/// step (RFC 9562, section 6.2, method 2). A time given far in the past (over 10 s) gets its own timestamp and
/// leaves the sequence alone.
public enum Identifier {
    private struct Tail {
        var millis: UInt64
        /// `rand_a`: 12 bits.
        var high: UInt16
        /// `rand_b`: 62 bits.
        var low: UInt64
    }

    private static let last = NIOLockedValueBox<Tail?>(nil)

    public static func make(now: Date = Date()) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        let tail = last.withLockedValue { last -> Tail in
            let next: Tail
            if let previous = last, millis <= previous.millis {
                guard previous.millis - millis < 10_000 else { return fresh(millis) }
                next = advanced(previous) ?? fresh(previous.millis + 1)
            } else {
                next = fresh(millis)
            }
            last = next
            return next
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: tail.millis >> (8 * (5 - UInt64(i)))) }
        bytes[6] = 0x70 | UInt8(tail.high >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: tail.high)
        bytes[8] = 0x80 | UInt8(tail.low >> 56)
        for i in 9..<16 { bytes[i] = UInt8(truncatingIfNeeded: tail.low >> (8 * (15 - UInt64(i)))) }
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, digit) in Hex.lowercase(bytes).utf8.enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { text.append(UInt8(ascii: "-")) }
            text.append(digit)
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func fresh(_ millis: UInt64) -> Tail {
        var generator = SystemRandomNumberGenerator()
        return Tail(millis: millis, high: UInt16(truncatingIfNeeded: generator.next() as UInt64) & 0x0FFF, low: generator.next() & lowMask)
    }

    /// The previous tail plus a random step of up to 2^32, or nil when the 74 bits would overflow (then the next
    /// millisecond starts; at up to 2^32 per id that takes over 2^40 ids in one millisecond).
    private static func advanced(_ previous: Tail) -> Tail? {
        var next = previous
        next.low += UInt64.random(in: 1...(1 << 32))
        if next.low > lowMask {
            next.low &= lowMask
            next.high += 1
            if next.high > 0x0FFF { return nil }
        }
        return next
    }

    private static let lowMask: UInt64 = (1 << 62) - 1

    public static func isWellFormed(_ text: String) -> Bool {
        text.count == 36 && UUID(uuidString: text) != nil
    }
}

/// Wall-clock milliseconds since the epoch: the one timestamp representation in every table (same in both dialects).
public enum EpochMillis {
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
