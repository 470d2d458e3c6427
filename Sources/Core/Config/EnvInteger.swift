import Foundation

/// An integer setting from the environment: absent or empty gives the default; anything outside `range` is
/// recorded as a problem (start-up lists them all) and the default is used meanwhile.
public enum EnvInteger {
    public static func read(_ env: [String: String], _ name: String, default fallback: Int, _ range: ClosedRange<Int>, into problems: inout [String]) -> Int {
        guard let text = env[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            problems.append("\(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
            return fallback
        }
        return value
    }
}
