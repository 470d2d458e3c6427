import Billing
import Core

/// Puts a request's candidates in the order to try them: lower priority first (failover walks the priorities), and
/// within a priority a weighted random draw by upstream weight × score^sharpness under the request's strategy
/// (`weighted`: by weight alone). Providers whose health probes fail are left out.
public struct RoutePlanner: Sendable {
    let metrics: UpstreamMetrics
    let prices: PriceBook
    /// Whether health probes have marked a provider down.
    let isDown: @Sendable (String) -> Bool
    let defaultStrategy: RoutingStrategy

    /// The header wins, then the logical model's own strategy, then the configured default.
    func strategy(requested: RoutingStrategy?, logical: LogicalModel?) -> RoutingStrategy {
        requested ?? logical.flatMap { RoutingStrategy(rawValue: $0.strategy) } ?? defaultStrategy
    }

    /// Every candidate with its figures, score and (for those that cannot be chosen) the reason.
    func scored(_ candidates: [Candidate], strategy: RoutingStrategy, orgId: String) -> [ScoredCandidate] {
        var scored = candidates.map { candidate in
            ScoredCandidate(
                candidate: candidate, stats: metrics.stats(UpstreamMetrics.Target(providerId: candidate.provider.id, model: candidate.upstreamModel)),
                blendedPrice: RouteScore.blendedPrice(candidate, prices: prices, orgId: orgId),
                excluded: isDown(candidate.provider.id) ? "health_check_failed" : nil
            )
        }
        RouteScore.score(&scored, strategy: strategy)
        return scored
    }

    /// The candidates that may be chosen, in the order to try them.
    func ordered(_ scored: [ScoredCandidate], strategy: RoutingStrategy) -> [ScoredCandidate] {
        let eligible = scored.filter { $0.excluded == nil }
        return Dictionary(grouping: eligible, by: \.candidate.priority).sorted { $0.key < $1.key }.flatMap { _, group in
            Self.draw(group) { Self.drawWeight($0, strategy: strategy) }
        }
    }

    /// A candidate's weight in the draw: its upstream weight, sharpened by its score unless the strategy is `weighted`.
    static func drawWeight(_ scored: ScoredCandidate, strategy: RoutingStrategy) -> Double {
        let weight = scored.candidate.routeWeight ?? scored.candidate.provider.weight
        return strategy == .weighted ? weight : weight * pow(scored.score, RouteScore.sharpness)
    }

    /// The order for one request; 503 when every candidate is out of service by its health probes.
    func order(_ candidates: [Candidate], strategy: RoutingStrategy, orgId: String) throws(APIError) -> [Candidate] {
        let ordered: [Candidate]
        if candidates.count == 1 {
            // One candidate has one order: no figures to read or score (they were a few percent of a request's CPU).
            let only = candidates[0]
            metrics.watch(UpstreamMetrics.Target(providerId: only.provider.id, model: only.upstreamModel))
            ordered = isDown(only.provider.id) ? [] : candidates
        } else {
            ordered = self.ordered(scored(candidates, strategy: strategy, orgId: orgId), strategy: strategy).map(\.candidate)
        }
        guard !ordered.isEmpty || candidates.isEmpty else {
            throw APIError(
                .serviceUnavailable, .unavailable, "every provider for this model is failing its health checks right now; retry shortly",
                code: "providers_unavailable"
            )
        }
        return ordered
    }

    /// Weighted random permutation (Efraimidis–Spirakis): each item's key is u^(1/w); larger keys go first.
    static func draw<T>(_ items: [T], weight: (T) -> Double) -> [T] {
        // One item has one order; no random number (each is a `getrandom` call).
        guard items.count > 1 else { return items }
        return items
            .map { ($0, pow(Double.random(in: Double.ulpOfOne..<1), 1 / max(weight($0), 1e-9))) }
            .sorted { $0.1 > $1.1 }
            .map(\.0)
    }
}

import Foundation
