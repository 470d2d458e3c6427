import Core

/// Circuit-breaker settings (`AIHIGRESS_BREAKER_*` in `.env.example`).
public struct BreakerSettings: Sendable, Equatable {
    /// Consecutive retryable failures that trip a provider or key.
    public var failureThreshold: Int
    /// First cooldown; each further trip within an hour doubles it, up to `maximumCooldown`.
    public var cooldown: Duration
    public var maximumCooldown: Duration

    public init(failureThreshold: Int = 3, cooldown: Duration = .seconds(30), maximumCooldown: Duration = .seconds(600)) {
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
        self.maximumCooldown = maximumCooldown
    }

    static func read(_ env: [String: String], into problems: inout [String]) -> BreakerSettings {
        func seconds(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int {
            guard let text = env[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                problems.append("\(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
                return fallback
            }
            return value
        }
        let threshold = seconds("AIHIGRESS_BREAKER_FAILURES", 3, 1...100)
        let base = seconds("AIHIGRESS_BREAKER_COOLDOWN_SECONDS", 30, 1...3600)
        let cap = seconds("AIHIGRESS_BREAKER_MAX_COOLDOWN_SECONDS", 600, 1...86_400)
        if cap < base { problems.append("AIHIGRESS_BREAKER_MAX_COOLDOWN_SECONDS: must be at least AIHIGRESS_BREAKER_COOLDOWN_SECONDS (\(base))") }
        return BreakerSettings(failureThreshold: threshold, cooldown: .seconds(base), maximumCooldown: .seconds(max(cap, base)))
    }
}
