import Billing
import Core

/// One candidate as routing sees it: the live figures and price behind its score, and why it cannot be chosen
/// (when it cannot).
public struct ScoredCandidate: Sendable {
    public let candidate: Candidate
    public let stats: UpstreamStats
    /// Input + output price per million tokens after the provider factor and the logical model's multiplier.
    public let blendedPrice: Int64?
    public var components = RouteScore.Components()
    public var score = 1.0
    public var excluded: String?
}

/// The scoring formula (documented in docs/ARCHITECTURE.md, "Routing strategies"). Each component is in (0, 1],
/// 1 for the best candidate of the request; the score is their weighted sum under the strategy's weights.
public enum RouteScore {
    public struct Components: Sendable, Equatable {
        public var latency = 1.0
        public var reliability = 1.0
        public var cost = 1.0
        public var load = 1.0
    }

    /// Latencies within a few tens of milliseconds of each other are noise, not a reason to move traffic.
    static let latencySmoothingMs = 50.0
    /// How sharply a better score wins: the weighted-random draw uses weight × score^sharpness, so the best
    /// candidate takes most traffic while the others keep getting enough to stay measured.
    static let sharpness = 6.0

    /// Expected time to first byte: mostly the recent average, partly the tail.
    static func latencySignal(_ stats: UpstreamStats) -> Double? {
        guard let ewma = stats.firstByteEWMA else { return nil }
        return 0.7 * ewma + 0.3 * (stats.firstByteP95 ?? ewma)
    }

    /// Fills `components` and `score` of every candidate relative to the others.
    static func score(_ candidates: inout [ScoredCandidate], strategy: RoutingStrategy) {
        guard let weights = strategy.weights else { return }
        let latencies = candidates.compactMap { latencySignal($0.stats) }.sorted()
        // Unmeasured candidates count as typical, neither best nor worst, so they get tried and measured.
        let typical = latencies.isEmpty ? nil : latencies[latencies.count / 2]
        let fastest = latencies.first
        let cheapest = candidates.compactMap(\.blendedPrice).filter { $0 > 0 }.min()
        let leastBusy = candidates.map(\.stats.inFlight).min() ?? 0
        for index in candidates.indices {
            let stats = candidates[index].stats
            var parts = Components()
            if let fastest, let latency = latencySignal(stats) ?? typical {
                parts.latency = (fastest + latencySmoothingMs) / (latency + latencySmoothingMs)
            }
            // One imagined success keeps a single early failure from zeroing a candidate.
            parts.reliability = 1 - Double(stats.failures) / Double(stats.requests + 1)
            if let cheapest, let price = candidates[index].blendedPrice, price > 0 {
                parts.cost = Double(cheapest) / Double(price)
            }
            parts.load = Double(1 + leastBusy) / Double(1 + stats.inFlight)
            candidates[index].components = parts
            candidates[index].score =
                weights.latency * parts.latency + weights.reliability * parts.reliability + weights.cost * parts.cost + weights.load * parts.load
        }
    }

    static func blendedPrice(_ candidate: Candidate, prices: PriceBook, orgId: String) -> Int64? {
        candidate.price(in: prices, orgId: orgId).map { $0.inputPerMillion + $0.outputPerMillion }
    }
}
