import Core

/// Health-probe settings (`AIHIGRESS_HEALTH_PROBE_*` in `.env.example`).
public struct HealthProbeSettings: Sendable, Equatable {
    /// Time between probes of one provider; nil disables probing.
    public var interval: Duration?
    /// When set and a provider offers it, probes are one-token chat requests for this model.
    public var model: String?
    /// Consecutive failed probes after which a provider is down.
    public var failuresToDown: Int

    public init(interval: Duration? = .seconds(30), model: String? = nil, failuresToDown: Int = 2) {
        self.interval = interval
        self.model = model
        self.failuresToDown = failuresToDown
    }

    /// How long a health record lives without a new probe, so a stale "down" cannot stick (with probing off,
    /// records from live checks use the default interval).
    public var recordLifetime: Duration { (interval ?? Self.defaultInterval) * 10 }

    static let defaultInterval: Duration = .seconds(30)

    static func read(_ env: [String: String], into problems: inout [String]) -> HealthProbeSettings {
        let seconds = EnvInteger.read(env, "AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS", default: 30, 0...86_400, into: &problems)
        let failures = EnvInteger.read(env, "AIHIGRESS_HEALTH_PROBE_FAILURES", default: 2, 1...100, into: &problems)
        let model = env["AIHIGRESS_HEALTH_PROBE_MODEL"]?.trimmingCharacters(in: .whitespaces)
        return HealthProbeSettings(
            interval: seconds == 0 ? nil : .seconds(seconds), model: (model?.isEmpty ?? true) ? nil : model, failuresToDown: failures
        )
    }
}
