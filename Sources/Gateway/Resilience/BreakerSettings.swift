import Core

/// Circuit-breaker settings (`AIHIGRESS_BREAKER_*` in `.env.example`).
public struct BreakerSettings: Sendable, Equatable {
    /// Consecutive retryable failures that trip a provider or key.
    public var failureThreshold: Int
    /// First cooldown; each further trip within an hour doubles it, up to `maximumCooldown`.
    public var cooldown: Duration
    public var maximumCooldown: Duration
    /// Upstream attempts per request (keys and providers together).
    public var maxAttempts: Int
    /// No new attempt starts once this much time has passed since the first.
    public var failoverBudget: Duration

    public init(
        failureThreshold: Int = 3, cooldown: Duration = .seconds(30), maximumCooldown: Duration = .seconds(600), maxAttempts: Int = 3,
        failoverBudget: Duration = .seconds(60)
    ) {
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
        self.maximumCooldown = maximumCooldown
        self.maxAttempts = maxAttempts
        self.failoverBudget = failoverBudget
    }

    static func read(_ env: [String: String], into problems: inout [String]) -> BreakerSettings {
        func seconds(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) -> Int {
            EnvInteger.read(env, name, default: fallback, range, into: &problems)
        }
        let threshold = seconds("AIHIGRESS_BREAKER_FAILURES", 3, 1...100)
        let base = seconds("AIHIGRESS_BREAKER_COOLDOWN_SECONDS", 30, 1...3600)
        let cap = seconds("AIHIGRESS_BREAKER_MAX_COOLDOWN_SECONDS", 600, 1...86_400)
        let attempts = seconds("AIHIGRESS_FAILOVER_MAX_ATTEMPTS", 3, 1...20)
        let budget = seconds("AIHIGRESS_FAILOVER_BUDGET_SECONDS", 60, 1...3600)
        if cap < base { problems.append("AIHIGRESS_BREAKER_MAX_COOLDOWN_SECONDS: must be at least AIHIGRESS_BREAKER_COOLDOWN_SECONDS (\(base))") }
        return BreakerSettings(
            failureThreshold: threshold, cooldown: .seconds(base), maximumCooldown: .seconds(max(cap, base)), maxAttempts: attempts,
            failoverBudget: .seconds(budget)
        )
    }
}
