import Core
import Logging

/// The gateway's defences against bad upstreams during one request: which key of a provider to use, and what
/// a success or a failure teaches the circuit breaker (and, for refused keys, the provider store).
struct Resilience: Sendable {
    let breaker: CircuitBreaker
    let store: ProviderStore
    let sharedState: any SharedState
    let logger: Logger
    var recentFailures = RecentKeyFailures()

    /// A key of the provider that is neither cooling down nor at its QPS limit, or nil: a weighted choice in which a
    /// key's recent failures (on this instance) reduce its weight.
    func usableKey(of provider: ProviderSettings, excluding refused: Set<String>, trialLifetime: Duration) async -> UpstreamKey? {
        var pool = provider.keys.filter { !refused.contains($0.id) }
        while !pool.isEmpty {
            let key = CallPreparation.pickKey(pool, weight: recentFailures.weight)
            if await breaker.standing(.key(key.id), trialLifetime: trialLifetime) != .coolingDown,
                await withinRate("key:\(key.id)", limit: key.maxQPS)
            {
                return key
            }
            pool.removeAll { $0.id == key.id }
        }
        return nil
    }

    /// Takes one request of the provider's per-second budget (`max_qps`); false when it is spent.
    func providerWithinRate(_ provider: ProviderSettings) async -> Bool {
        await withinRate("provider:\(provider.id)", limit: provider.maxQPS)
    }

    /// A counter per subject and UTC second in shared state, so every instance draws on one budget.
    private func withinRate(_ subject: String, limit: Int?) async -> Bool {
        guard let limit else { return true }
        let second = EpochMillis.now() / 1000
        do {
            return try await sharedState.incrementIfWithin(Self.rateKey(subject, second: second), by: 1, limit: limit, ttl: .seconds(2)).applied
        } catch {
            return true
        }
    }

    func succeeded(provider: ProviderSettings, key: UpstreamKey) async {
        await breaker.recordSuccess(.provider(provider.id))
        await breaker.recordSuccess(.key(key.id))
    }

    /// Retryable failures count against the provider (and the key); 429 only against the key, honouring its
    /// `Retry-After`; 401/403 take the key out of rotation. Other 4xx mean the upstream is up.
    func failed(provider: ProviderSettings, key: UpstreamKey, failure: UpstreamFailure) async {
        switch failure {
        case .status(let code, _, _) where code == 401 || code == 403:
            do {
                if try await store.disableKey(providerId: provider.id, keyId: key.id, upstreamStatus: code, ownerOrgId: provider.ownerOrgId) {
                    logger.error("upstream refused a provider key; it is disabled until re-enabled", metadata: [
                        "provider": .string(provider.slug), "key": .string(key.label), "status": .stringConvertible(code),
                    ])
                    try await sharedState.publish(ProviderRegistry.invalidationChannel, "key-disabled")
                }
            } catch {
                logger.warning("could not disable a refused provider key", metadata: ["error": "\(error)"])
            }
        case .status(429, _, let retryAfter):
            recentFailures.record(key.id)
            await breaker.recordFailure(.key(key.id), retryAfter: retryAfter ?? breaker.settings.cooldown)
        case .status(let code, _, let retryAfter) where provider.retryableStatusCodes.contains(code):
            recentFailures.record(key.id)
            await breaker.recordFailure(.provider(provider.id), retryAfter: retryAfter)
            await breaker.recordFailure(.key(key.id))
        case .timeout, .connection:
            recentFailures.record(key.id)
            await breaker.recordFailure(.provider(provider.id))
        case .status, .malformed:
            await breaker.recordSuccess(.provider(provider.id))
        }
    }

    /// Every candidate is at its request-rate limit or has no key free (keys at their QPS limit or cooling down).
    static let allSaturated: APIError = {
        var error = APIError(
            .serviceUnavailable, .unavailable, "every provider for this model is at its request-rate limit (max_qps) or has no key available right now; retry shortly",
            code: "providers_saturated"
        )
        error.headers[.retryAfter] = "1"
        return error
    }()

    /// Every candidate is cooling down: 503 with the shortest remaining cooldown as `Retry-After`.
    func allCoolingDown(_ subjects: [CircuitBreaker.Subject]) async -> APIError {
        var shortest: Duration?
        for subject in subjects {
            if let left = await breaker.remainingCooldown(subject), shortest.map({ left < $0 }) ?? true { shortest = left }
        }
        var error = APIError(
            .serviceUnavailable, .unavailable, "every provider for this model is cooling down after repeated failures; retry shortly",
            code: "providers_cooling_down"
        )
        error.headers[.retryAfter] = String(max(1, Int((shortest ?? .seconds(1)).seconds.rounded(.up))))
        return error
    }
}
