import Core
import Foundation
import NIOConcurrencyHelpers

/// Cooldowns for providers and upstream keys, shared across instances through shared state.
/// Closed: requests flow; retryable failures are counted (a success seen by the counting instance resets the
/// count). After `failureThreshold` failures the circuit opens for a cooldown (doubling per trip within an hour,
/// capped). When the cooldown ends the circuit is half-open: exactly one request across all instances is let
/// through as a trial; its success closes the circuit, its failure opens it again for longer. A `Retry-After`
/// from an upstream opens a key at once for at least that long.
///
/// Healthy traffic costs no shared-state round trip per request: each instance reads a subject's state at most
/// every `refreshInterval` and writes only when something fails or recovers.
public final class CircuitBreaker: Sendable {
    public enum Subject: Sendable, Hashable {
        case provider(String)
        case key(String)

        var name: String {
            switch self {
            case .provider(let id): "cb:provider:\(id)"
            case .key(let id): "cb:key:\(id)"
            }
        }
    }

    public enum Standing: Sendable, Equatable {
        case closed
        /// This request is the half-open trial.
        case trial
        case coolingDown
    }

    private struct Observed: Sendable {
        /// `nil` closed, else the epoch millisecond the cooldown ends.
        var openUntil: Int64?
        var fetchedAt: ContinuousClock.Instant
        /// This instance counted failures that a success should clear.
        var countedFailures = false
    }

    private let sharedState: any SharedState
    let settings: BreakerSettings
    private let refreshInterval: Duration
    private let memory: Duration = .seconds(3600)
    private let observed = NIOLockedValueBox<[Subject: Observed]>([:])

    public init(sharedState: any SharedState, settings: BreakerSettings, refreshInterval: Duration = .milliseconds(250)) {
        self.sharedState = sharedState
        self.settings = settings
        self.refreshInterval = refreshInterval
    }

    /// Whether a request may use the subject now (claiming the half-open trial if one is due).
    public func standing(_ subject: Subject, trialLifetime: Duration) async -> Standing {
        guard let openUntil = await openUntil(subject) else { return .closed }
        if EpochMillis.now() < openUntil { return .coolingDown }
        let claimed = (try? await sharedState.setIfAbsent(subject.name + ":trial", "1", ttl: trialLifetime)) ?? true
        return claimed ? .trial : .coolingDown
    }

    public func recordSuccess(_ subject: Subject) async {
        let state = observed.withLockedValue { $0[subject] }
        guard state?.openUntil != nil || state?.countedFailures == true else { return }
        for suffix in ["", ":fails", ":trial", ":trips"] { _ = try? await sharedState.delete(subject.name + suffix) }
        observed.withLockedValue { $0[subject] = Observed(openUntil: nil, fetchedAt: .now) }
    }

    /// Counts a retryable failure; returns the cooldown when this failure opened the circuit.
    @discardableResult
    public func recordFailure(_ subject: Subject, retryAfter: Duration? = nil) async -> Duration? {
        do {
            observed.withLockedValue { $0[subject, default: Observed(openUntil: nil, fetchedAt: .now)].countedFailures = true }
            let failures = try await sharedState.increment(subject.name + ":fails", by: 1, ttl: memory)
            let trial = try await sharedState.get(subject.name + ":trial") != nil
            guard failures >= settings.failureThreshold || retryAfter != nil || trial else { return nil }
            let trips = try await sharedState.increment(subject.name + ":trips", by: 1, ttl: memory)
            var cooldown = settings.cooldown * (1 << min(max(trips - 1, 0), 20))
            if cooldown > settings.maximumCooldown { cooldown = settings.maximumCooldown }
            if let retryAfter, retryAfter > cooldown { cooldown = retryAfter }
            let until = EpochMillis.now() + cooldown.milliseconds
            try await sharedState.set(subject.name, String(until), ttl: memory)
            _ = try await sharedState.delete(subject.name + ":trial")
            observed.withLockedValue { $0[subject] = Observed(openUntil: until, fetchedAt: .now, countedFailures: true) }
            return cooldown
        } catch {
            return nil
        }
    }

    /// Remaining cooldown, for `Retry-After` when every candidate is cooling down.
    public func remainingCooldown(_ subject: Subject) async -> Duration? {
        guard let until = await openUntil(subject) else { return nil }
        let left = until - EpochMillis.now()
        return left > 0 ? .milliseconds(left) : nil
    }

    private func openUntil(_ subject: Subject) async -> Int64? {
        let now = ContinuousClock.now
        if let state = observed.withLockedValue({ $0[subject] }), state.fetchedAt.duration(to: now) < refreshInterval {
            return state.openUntil
        }
        // Without shared state we cannot know; let traffic decide rather than refusing everything.
        let value = (try? await sharedState.get(subject.name)).flatMap { $0.flatMap(Int64.init) }
        observed.withLockedValue { table in
            var state = table[subject] ?? Observed(openUntil: nil, fetchedAt: now)
            state.openUntil = value
            state.fetchedAt = now
            table[subject] = state
        }
        return value
    }
}
