import Core
import Logging
import NIOConcurrencyHelpers

/// Health per provider, shared by every instance through shared state (`health:<providerId>`, a small JSON
/// record) and answered on the request path from an in-process copy, so asking never waits on shared state.
/// The copy is refreshed at most every `refreshInterval` (the prober calls `refresh`) and after each local probe.
/// Records expire after `recordLifetime` without a probe, in shared state and here, so a stale "down" cannot stick.
public final class ProviderHealth: Sendable {
    private struct Cache: Sendable {
        var records: [String: HealthRecord] = [:]
        var refreshedAt: ContinuousClock.Instant?
    }

    private let sharedState: any SharedState
    let failuresToDown: Int
    private let recordLifetime: Duration
    private let refreshInterval: Duration
    private let logger: Logger
    private let cache = NIOLockedValueBox(Cache())

    public init(
        sharedState: any SharedState, failuresToDown: Int = 2, recordLifetime: Duration, refreshInterval: Duration = .seconds(1),
        logger: Logger
    ) {
        self.sharedState = sharedState
        self.failuresToDown = failuresToDown
        self.recordLifetime = recordLifetime
        self.refreshInterval = refreshInterval
        self.logger = logger
    }

    static func key(_ providerId: String) -> String { "health:\(providerId)" }

    /// Whether probes say the provider is down (false when unknown or expired).
    public func isDown(_ providerId: String) -> Bool {
        status(providerId)?.status == .down
    }

    /// The provider's current record, or nil when it was never probed or its record expired.
    public func status(_ providerId: String) -> HealthRecord? {
        guard let record = cache.withLockedValue({ $0.records[providerId] }) else { return nil }
        return EpochMillis.now() - record.checkedAt < recordLifetime.milliseconds ? record : nil
    }

    /// Re-reads the records of `providerIds` from shared state, unless that happened less than `refreshInterval` ago.
    public func refresh(_ providerIds: [String]) async {
        let due = cache.withLockedValue { cache in
            let now = ContinuousClock.now
            if let last = cache.refreshedAt, last.duration(to: now) < refreshInterval { return false }
            cache.refreshedAt = now
            return true
        }
        guard due else { return }
        let started = EpochMillis.now()
        let texts: [String?]
        do {
            texts = try await sharedState.getMany(providerIds.map(Self.key))  // one round trip for every provider
        } catch {
            return  // Shared state unreachable: keep what we knew until the records expire here too.
        }
        for (id, text) in zip(providerIds, texts) {
            let stored = text.flatMap { try? JSONText.parse(Array($0.utf8)) }.flatMap(HealthRecord.init(json:))
            cache.withLockedValue { cache in
                let local = cache.records[id]
                // A local probe may have landed while we read; never replace it with an older record.
                if let stored, stored.checkedAt >= local?.checkedAt ?? .min {
                    cache.records[id] = stored
                } else if stored == nil, let local, local.checkedAt < started {
                    cache.records[id] = nil
                }
            }
        }
    }

    /// Records one probe: reads the previous record (shared state first, so counts continue across instances),
    /// writes the next one with the record lifetime, and updates the local copy at once.
    @discardableResult
    func record(_ providerId: String, latency: Duration, failure: String?) async -> HealthRecord {
        let key = Self.key(providerId)
        let shared = try? await sharedState.get(key).flatMap { try? JSONText.parse(Array($0.utf8)) }.flatMap(HealthRecord.init(json:))
        let previous = shared ?? status(providerId)
        let next = HealthRecord.after(previous, latency: latency, failure: failure, failuresToDown: failuresToDown, now: EpochMillis.now())
        do {
            try await sharedState.set(key, JSONText.render(next.json), ttl: recordLifetime)
        } catch {
            logger.warning("could not store a provider health record", metadata: ["provider": .string(providerId), "error": .string("\(error)")])
        }
        cache.withLockedValue { $0.records[providerId] = next }
        return next
    }
}
