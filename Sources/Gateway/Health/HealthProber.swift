import Core
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Probes every usable provider each `interval` and records the outcome in `ProviderHealth`; also keeps that
/// health's in-process copy fresh (about every second) so other instances' probes are seen. One instance in the
/// cluster probes a given provider per interval: it must first take `probe-lock:<id>` in shared state.
public final class HealthProber: Service, Sendable {
    public typealias Observer = @Sendable (ProviderSettings, ProbeObservation) async -> Void

    public let health: ProviderHealth
    private let registry: ProviderRegistry
    private let probe: HealthProbe
    private let sharedState: any SharedState
    private let interval: Duration?
    private let observer: Observer
    private let logger: Logger
    /// This instance's name in the probe locks.
    private let instance = RandomToken.hex(byteCount: 8)
    /// Providers with a probe under way here: a slow provider is not probed again until its probe ends.
    private let probing = NIOLockedValueBox<Set<String>>([])

    init(
        registry: ProviderRegistry, catalog: ModelCatalog, http: UpstreamHTTP, builder: UpstreamRequestBuilder, health: ProviderHealth,
        sharedState: any SharedState, settings: HealthProbeSettings, logger: Logger, observer: @escaping Observer = { _, _ in }
    ) {
        self.health = health
        self.registry = registry
        self.probe = HealthProbe(http: http, builder: builder, catalog: catalog, probeModel: settings.model)
        self.sharedState = sharedState
        self.interval = settings.interval
        self.observer = observer
        self.logger = logger
    }

    /// Probes the provider now (whatever the interval and locks say) and records the outcome.
    public func check(_ provider: ProviderSettings) async -> HealthRecord {
        let outcome = await probe.run(provider)
        let record = await health.record(provider.id, latency: outcome.latency, failure: outcome.failure)
        if let failure = outcome.failure, record.status == .down, record.consecutiveFailures == health.failuresToDown {
            logger.warning("provider is down", metadata: ["provider": .string(provider.slug), "error": .string(failure)])
        }
        await observer(provider, ProbeObservation(model: outcome.model, latency: outcome.latency, succeeded: outcome.failure == nil))
        return record
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.keepHealthFresh() }
            if let interval {
                group.addTask { await self.probeEvery(interval) }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func keepHealthFresh() async {
        while !Task.isCancelled {
            await health.refresh(registry.providers.filter(\.isUsable).map(\.id))
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
        }
    }

    /// Starts each round's probes without waiting for them, so one provider that times out delays no other.
    private func probeEvery(_ interval: Duration) async {
        // Slightly shorter than the interval, so this instance's own lock from the last round (taken a moment
        // after that round started) is gone when the next round starts.
        let lockLifetime = interval * 0.8
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                for provider in registry.providers where provider.isUsable {
                    guard probing.withLockedValue({ $0.insert(provider.id).inserted }) else { continue }
                    group.addTask {
                        defer { _ = self.probing.withLockedValue { $0.remove(provider.id) } }
                        // Without shared state nobody can coordinate; probing anyway still informs this instance.
                        let mine = (try? await self.sharedState.setIfAbsent("probe-lock:\(provider.id)", self.instance, ttl: lockLifetime)) ?? true
                        if mine { _ = await self.check(provider) }
                    }
                }
                do { try await Task.sleep(for: interval) } catch { break }
            }
        }
    }
}
