import Foundation

/// An amount of credits as an integer count of micro-credits (1 credit = 1,000,000). Money is never floating point.
public struct Credits: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let microPerCredit: Int64 = 1_000_000
    public let micros: Int64

    public init(micros: Int64) {
        self.micros = micros
    }

    public static let zero = Credits(micros: 0)

    /// Parses a decimal amount such as `12`, `12.5` or `-0.000001`; at most six decimal places.
    public init?(parsing text: String) {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if digits.first == "-" {
            negative = true
            digits = digits.dropFirst()
        }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isNumber), let wholeValue = Int64(whole) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 6, f.allSatisfy(\.isNumber), let value = Int64(f) else { return nil }
            fraction = value * Int64(Self.pow10(6 - f.count))
        }
        let (scaled, overflow) = wholeValue.multipliedReportingOverflow(by: Self.microPerCredit)
        guard !overflow else { return nil }
        let (total, overflow2) = scaled.addingReportingOverflow(fraction)
        guard !overflow2 else { return nil }
        micros = negative ? -total : total
    }

    public var description: String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let whole = magnitude / UInt64(Self.microPerCredit)
        let fraction = magnitude % UInt64(Self.microPerCredit)
        if fraction == 0 { return "\(sign)\(whole)" }
        var fractionText = String(fraction)
        fractionText = String(repeating: "0", count: 6 - fractionText.count) + fractionText
        while fractionText.hasSuffix("0") { fractionText.removeLast() }
        return "\(sign)\(whole).\(fractionText)"
    }

    public static func < (lhs: Credits, rhs: Credits) -> Bool { lhs.micros < rhs.micros }
    public static func + (lhs: Credits, rhs: Credits) -> Credits { Credits(micros: lhs.micros + rhs.micros) }
    public static func - (lhs: Credits, rhs: Credits) -> Credits { Credits(micros: lhs.micros - rhs.micros) }

    private static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { acc, _ in acc * 10 } }
}
