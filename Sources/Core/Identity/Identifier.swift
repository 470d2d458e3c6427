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

    private struct State {
        var last: Tail?
        /// Ids are unique, not secret (tokens come from `RandomToken`): their random bits come from a generator
        /// seeded once from the system, not a `getrandom` call per id — one or two per id were a third of the
        /// syscalls a proxied request made.
        var random = Xoshiro256StarStar(seededFrom: SystemRandomNumberGenerator())
    }

    private static let state = NIOLockedValueBox(State())

    public static func make(now: Date = Date()) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        let tail = state.withLockedValue { state -> Tail in
            let next: Tail
            if let previous = state.last, millis <= previous.millis {
                guard previous.millis - millis < 10_000 else { return fresh(millis, &state.random) }
                next = advanced(previous, &state.random) ?? fresh(previous.millis + 1, &state.random)
            } else {
                next = fresh(millis, &state.random)
            }
            state.last = next
            return next
        }
        return text(high: (tail.millis << 16) | UInt64(0x7000 | tail.high), low: (0x80 << 56) | tail.low)
    }

    /// The 128 bits as a hyphenated lowercase UUID string, written once into the string's own storage.
    private static func text(high: UInt64, low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                let value = UInt8(truncatingIfNeeded: word >> (60 - 4 * UInt64(nibble % 16))) & 0x0F
                out[position] = value < 10 ? 0x30 + value : 0x57 + value
                position += 1
            }
            return position
        }
    }

    private static func fresh(_ millis: UInt64, _ generator: inout Xoshiro256StarStar) -> Tail {
        Tail(millis: millis, high: UInt16(truncatingIfNeeded: generator.next() as UInt64) & 0x0FFF, low: generator.next() & lowMask)
    }

    /// The previous tail plus a random step of up to 2^32, or nil when the 74 bits would overflow (then the next
    /// millisecond starts; at up to 2^32 per id that takes over 2^40 ids in one millisecond).
    private static func advanced(_ previous: Tail, _ generator: inout Xoshiro256StarStar) -> Tail? {
        var next = previous
        next.low += UInt64.random(in: 1...(1 << 32), using: &generator)
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

/// xoshiro256** (Blackman and Vigna): a fast 64-bit generator with 256 bits of state, for random bits that must
/// be unique rather than unpredictable.
struct Xoshiro256StarStar: RandomNumberGenerator {
    private var s0, s1, s2, s3: UInt64

    init(seededFrom seed: some RandomNumberGenerator) {
        var seed = seed
        repeat {
            (s0, s1, s2, s3) = (seed.next(), seed.next(), seed.next(), seed.next())
        } while s0 | s1 | s2 | s3 == 0
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }
}

/// Wall-clock milliseconds since the epoch: the one timestamp representation in every table (same in both dialects).
public enum EpochMillis {
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
