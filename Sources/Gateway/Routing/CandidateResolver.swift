import Core

/// One place a request can go: a provider and the model name to send it.
public struct Candidate: Sendable, Equatable {
    public let provider: ProviderSettings
    public let upstreamModel: String
    /// Routing weight when it differs from the provider's own (a logical model's upstream weight).
    public var routeWeight: Double? = nil
    /// A logical model's price multiplier (basis points, 10000 = 1.0).
    public var priceMultiplierBasisPoints: Int = 10_000
}

/// What an endpoint needs from a provider.
enum Capability: Sendable {
    case chat
    case embeddings
    case images

    func supported(by kind: ProviderKind) -> Bool {
        switch self {
        case .chat: true
        case .embeddings, .images: kind == .openai
        }
    }
}

/// Resolves a client's model name to candidates the organisation may use, in the order to try them:
/// `slug/model` pins a provider; a bare name goes to every visible provider that offers it, in weighted random
/// order (so traffic splits by weight and failover has a next choice). A key's allowed providers narrow both.
struct CandidateResolver: Sendable {
    let registry: ProviderRegistry
    let catalog: ModelCatalog

    func resolve(model: String, for identity: APIKeyIdentity, capability: Capability) async throws(APIError) -> [Candidate] {
        if let allowed = identity.allowedModels, !Self.isAllowed(model, by: allowed) {
            throw APIError.forbidden("model '\(model)' is not allowed for this API key", code: "model_not_allowed")
        }
        let reachable = registry.providers.filter { $0.isUsable && $0.isVisible(to: identity.orgId) && capability.supported(by: $0.kind) }
        // A key's provider allow-list: a pin to another provider is refused; bare names only go to allowed ones.
        if let slash = model.firstIndex(of: "/"), reachable.contains(where: { $0.slug == model[..<slash] }),
            !identity.mayUse(providerSlug: String(model[..<slash]))
        {
            throw APIError.forbidden("provider '\(model[..<slash])' is not allowed for this API key", code: "provider_not_allowed")
        }
        let visible = reachable.filter { identity.mayUse(providerSlug: $0.slug) }
        if !model.contains("/"), let logical = registry.logicalModel(named: model, for: identity.orgId) {
            return try Self.candidates(of: logical, among: visible)
        }
        if let slash = model.firstIndex(of: "/"), let pinned = visible.first(where: { $0.slug == model[..<slash] }) {
            let upstream = String(model[model.index(after: slash)...])
            if await catalog.models(of: pinned).contains(upstream) { return [Candidate(provider: pinned, upstreamModel: upstream)] }
        }
        var offering: [Candidate] = []
        for provider in visible where await catalog.models(of: provider).contains(model) {
            offering.append(Candidate(provider: provider, upstreamModel: model))
        }
        guard !offering.isEmpty else {
            throw APIError.notFound(
                "model '\(model)' is not available to this organization; GET /v1/models lists the models you can use",
                code: "model_not_found"
            )
        }
        return Self.weightedOrder(offering)
    }

    /// A logical model's upstreams that this caller can use now: lower priority first, weighted within a priority.
    static func candidates(of logical: LogicalModel, among visible: [ProviderSettings]) throws(APIError) -> [Candidate] {
        let byId = Dictionary(visible.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let usable = logical.upstreams.compactMap { upstream -> (Int, Candidate)? in
            guard let provider = byId[upstream.providerId] else { return nil }
            return (upstream.priority, Candidate(
                provider: provider, upstreamModel: upstream.model, routeWeight: upstream.weight,
                priceMultiplierBasisPoints: logical.priceMultiplierBasisPoints
            ))
        }
        guard !usable.isEmpty else {
            throw APIError(
                .serviceUnavailable, .unavailable, "no upstream of the logical model '\(logical.name)' is available to this key right now",
                code: "logical_model_unavailable"
            )
        }
        return Dictionary(grouping: usable, by: \.0).sorted { $0.key < $1.key }.flatMap { weightedOrder($0.value.map(\.1)) }
    }

    /// A key allowed `gpt-4o` may use `openai/gpt-4o` too; a key allowed only `openai/gpt-4o` may not use other providers.
    static func isAllowed(_ model: String, by allowed: [String]) -> Bool {
        if allowed.contains(model) { return true }
        if let slash = model.firstIndex(of: "/") { return allowed.contains(String(model[model.index(after: slash)...])) }
        return false
    }

    /// Weighted random permutation (Efraimidis–Spirakis): each item's key is u^(1/w); larger keys go first.
    static func weightedOrder(_ candidates: [Candidate]) -> [Candidate] {
        candidates
            .map { ($0, pow(Double.random(in: Double.ulpOfOne..<1), 1 / max($0.routeWeight ?? $0.provider.weight, 0.0001))) }
            .sorted { $0.1 > $1.1 }
            .map(\.0)
    }
}

import Foundation
