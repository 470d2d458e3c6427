import Core

extension Resilience {
    /// Why a provider cannot take a request right now (cooling down, at its QPS limit, no usable key), or nil.
    /// Read-only: it neither spends QPS budget nor claims a half-open trial, so a dry run changes nothing.
    func unavailability(of provider: ProviderSettings) async -> String? {
        if await breaker.remainingCooldown(.provider(provider.id)) != nil { return "cooling_down" }
        if await atLimit("provider:\(provider.id)", limit: provider.maxQPS) { return "at_qps_limit" }
        for key in provider.keys {
            if await breaker.remainingCooldown(.key(key.id)) == nil, await !atLimit("key:\(key.id)", limit: key.maxQPS) { return nil }
        }
        return "no_key_available"
    }

    private func atLimit(_ subject: String, limit: Int?) async -> Bool {
        guard let limit else { return false }
        let used = (try? await sharedState.get(Self.rateKey(subject, second: EpochMillis.now() / 1000))).flatMap { $0.flatMap(Int.init) } ?? 0
        return used >= limit
    }

    static func rateKey(_ subject: String, second: Int64) -> String { "qps:\(subject):\(second)" }
}
