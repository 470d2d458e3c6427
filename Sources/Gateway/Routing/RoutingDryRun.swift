import Core

/// `POST /routing/decide`: what routing would do for a model right now, without sending anything or spending any
/// budget — every candidate with its live figures, score and first-pick share, the reason for each one that cannot
/// be chosen, and one draw of the order a request would try.
struct RoutingDryRun: Sendable {
    let resolver: CandidateResolver
    let planner: RoutePlanner
    let resilience: Resilience
    let stickiness: SessionStickiness

    func decide(model: String, identity: APIKeyIdentity, requested: RoutingStrategy?, session: String?) async throws -> JSONValue {
        let logical = resolver.logicalModel(model, orgId: identity.orgId)
        let strategy = planner.strategy(requested: requested, logical: logical)
        let candidates = try await resolver.resolve(model: model, for: identity, capability: .chat)
        let scored = planner.scored(candidates, strategy: strategy, orgId: identity.orgId)
        var order = planner.ordered(scored, strategy: strategy).map(\.candidate)
        if let session { order = await stickiness.ordered(order, orgId: identity.orgId, session: session, model: model) }
        var reasons: [CandidateKey: String] = [:]
        for item in scored {
            if let excluded = item.excluded {
                reasons[CandidateKey(item.candidate)] = excluded
            } else if let busy = await resilience.unavailability(of: item.candidate.provider) {
                reasons[CandidateKey(item.candidate)] = busy
            }
        }
        let chosen = order.first { reasons[CandidateKey($0)] == nil }
        let shares = Self.firstPickShares(scored, strategy: strategy)
        let rank = Dictionary(order.enumerated().map { (CandidateKey($0.element), $0.offset + 1) }, uniquingKeysWith: { first, _ in first })
        let listed = scored.sorted { (rank[CandidateKey($0.candidate)] ?? .max) < (rank[CandidateKey($1.candidate)] ?? .max) }
        var answer: [String: JSONValue] = [
            "model": .string(model),
            "logical_model": logical.map { .string($0.name) } ?? .null,
            "strategy": .string(strategy.rawValue),
            "chosen": chosen.map(Self.describe) ?? .null,
            "candidates": .array(listed.map { item in
                let key = CandidateKey(item.candidate)
                var entry = Self.fields(item.candidate)
                entry["rank"] = rank[key].map { .int(Int64($0)) } ?? .null
                entry["score"] = .double(Self.rounded(item.score))
                entry["share"] = .double(Self.rounded(shares[key] ?? 0))
                entry["components"] = .object([
                    "latency": .double(Self.rounded(item.components.latency)), "reliability": .double(Self.rounded(item.components.reliability)),
                    "cost": .double(Self.rounded(item.components.cost)), "load": .double(Self.rounded(item.components.load)),
                ])
                entry["metrics"] = item.stats.json
                entry["price_per_million"] = item.blendedPrice.map { .string(Credits(micros: $0).description) } ?? .null
                entry["excluded"] = reasons[key].map(JSONValue.string) ?? .null
                return .object(entry)
            }),
            "excluded_providers": .array(await resolver.unusableProviders(offering: model, for: identity).map { provider, reason in
                .object(["provider_id": .string(provider.id), "provider": .string(provider.slug), "reason": .string(reason)])
            }),
        ]
        if let session { answer["session"] = try await stickiness.describe(orgId: identity.orgId, session: session) ?? .null }
        return .object(answer)
    }

    /// The chance each candidate is tried first: its draw weight over the sum of its priority group's (exact for
    /// the weighted draw). Only the first priority group can be first; the others get 0.
    static func firstPickShares(_ scored: [ScoredCandidate], strategy: RoutingStrategy) -> [CandidateKey: Double] {
        let eligible = scored.filter { $0.excluded == nil }
        guard let top = eligible.map(\.candidate.priority).min() else { return [:] }
        let group = eligible.filter { $0.candidate.priority == top }
        let weights = group.map { RoutePlanner.drawWeight($0, strategy: strategy) }
        let total = weights.reduce(0, +)
        guard total > 0 else { return [:] }
        return Dictionary(zip(group, weights).map { (CandidateKey($0.candidate), $1 / total) }, uniquingKeysWith: { first, _ in first })
    }

    static func describe(_ candidate: Candidate) -> JSONValue { .object(fields(candidate)) }

    static func fields(_ candidate: Candidate) -> [String: JSONValue] {
        [
            "provider_id": .string(candidate.provider.id), "provider": .string(candidate.provider.slug),
            "model": .string(candidate.upstreamModel), "priority": .int(Int64(candidate.priority)),
            "weight": .double(candidate.routeWeight ?? candidate.provider.weight),
        ]
    }

    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}

/// Identifies a candidate within one request (a provider and the model sent to it).
struct CandidateKey: Hashable {
    let providerId: String
    let model: String

    init(_ candidate: Candidate) {
        providerId = candidate.provider.id
        model = candidate.upstreamModel
    }
}

import Foundation
