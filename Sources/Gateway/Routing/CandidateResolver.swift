import Billing
import Core

/// One place a request can go: a provider and the model name to send it.
public struct Candidate: Sendable {
    public let provider: ProviderSettings
    public let upstreamModel: String
    /// Routing weight when it differs from the provider's own (a logical model's upstream weight).
    public var routeWeight: Double? = nil
    /// A logical model's price multiplier (basis points, 10000 = 1.0).
    public var priceMultiplierBasisPoints: Int = 10_000
    /// A logical model's upstream priority: lower is tried first.
    public var priority: Int = 0
}

extension Candidate {
    /// What a request routed here is charged per unit: the price book's price for the model, times the provider's
    /// billing factor, times the logical model's multiplier. nil when the model has no price.
    func price(in prices: PriceBook, orgId: String) -> Price? {
        prices.price(model: upstreamModel, providerId: provider.id, orgId: orgId)?
            .scaled(byBasisPoints: provider.billingFactorBasisPoints)
            .scaled(byBasisPoints: priceMultiplierBasisPoints)
    }
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

/// Resolves a client's model name to the candidates the organisation may use (`RoutePlanner` orders them):
/// `slug/model` pins a provider; a bare name goes to every visible provider that offers it (by id or by one of the
/// provider's aliases), or to a logical model's
/// usable upstreams. A key's allowed providers narrow both.
struct CandidateResolver: Sendable {
    let registry: ProviderRegistry
    let catalog: ModelCatalog

    func resolve(model: String, for identity: APIKeyIdentity, capability: Capability) async throws(APIError) -> [Candidate] {
        if let allowed = identity.allowedModels, !Self.isAllowed(model, by: allowed) {
            throw APIError.forbidden("model '\(model)' is not allowed for this API key", code: "model_not_allowed")
        }
        let providers = registry.providers
        let reachable = { (provider: ProviderSettings) in
            provider.isUsable && provider.isVisible(to: identity.orgId) && capability.supported(by: provider.kind)
        }
        // A key's provider allow-list: a pin to another provider is refused; bare names only go to allowed ones.
        if let slash = model.firstIndex(of: "/"), providers.contains(where: { reachable($0) && $0.slug == model[..<slash] }),
            !identity.mayUse(providerSlug: String(model[..<slash]))
        {
            throw APIError.forbidden("provider '\(model[..<slash])' is not allowed for this API key", code: "provider_not_allowed")
        }
        let visible = providers.filter { reachable($0) && identity.mayUse(providerSlug: $0.slug) }
        if !Self.isPinned(model), let logical = registry.logicalModel(named: model, for: identity.orgId) {
            return try Self.candidates(of: logical, among: visible)
        }
        if let slash = model.firstIndex(of: "/"), let pinned = visible.first(where: { $0.slug == model[..<slash] }) {
            let requested = String(model[model.index(after: slash)...])
            if let upstream = pinned.upstreamModel(for: requested, offered: await catalog.models(of: pinned)) {
                return [Candidate(provider: pinned, upstreamModel: upstream)]
            }
        }
        var offering: [Candidate] = []
        for provider in visible {
            if let upstream = provider.upstreamModel(for: model, offered: await catalog.models(of: provider)) {
                offering.append(Candidate(provider: provider, upstreamModel: upstream))
            }
        }
        guard !offering.isEmpty else {
            throw APIError.notFound(
                "model '\(model)' is not available to this organization; GET /v1/models lists the models you can use",
                code: "model_not_found"
            )
        }
        return offering
    }

    /// The logical model a bare name means for the organisation, if any.
    func logicalModel(_ model: String, orgId: String) -> LogicalModel? {
        Self.isPinned(model) ? nil : registry.logicalModel(named: model, for: orgId)
    }

    /// Providers the organisation can see that serve the model (or the logical model's upstreams) but cannot be
    /// used now, with the reason. Providers it cannot see are never mentioned.
    func unusableProviders(offering model: String, for identity: APIKeyIdentity) async -> [(ProviderSettings, String)] {
        let visible = registry.providers.filter { $0.isVisible(to: identity.orgId) }
        if let logical = logicalModel(model, orgId: identity.orgId) {
            let ids = Set(logical.upstreams.map(\.providerId))
            return visible.filter { ids.contains($0.id) }.compactMap { provider in Self.unusable(provider, identity).map { (provider, $0) } }
        }
        var pinned: String?
        var name = model
        if let slash = model.firstIndex(of: "/"), visible.contains(where: { $0.slug == model[..<slash] }) {
            pinned = String(model[..<slash])
            name = String(model[model.index(after: slash)...])
        }
        var out: [(ProviderSettings, String)] = []
        for provider in visible where pinned == nil || provider.slug == pinned {
            guard let reason = Self.unusable(provider, identity), provider.upstreamModel(for: name, offered: await catalog.models(of: provider)) != nil
            else { continue }
            out.append((provider, reason))
        }
        return out
    }

    static func unusable(_ provider: ProviderSettings, _ identity: APIKeyIdentity) -> String? {
        if provider.status != "active" { return "provider_\(provider.status)" }
        if provider.approval != "approved" { return "provider_not_approved" }
        if provider.keys.isEmpty { return "provider_has_no_keys" }
        if !identity.mayUse(providerSlug: provider.slug) { return "provider_not_allowed_for_key" }
        return nil
    }

    /// A logical model's upstreams that this caller can use now.
    static func candidates(of logical: LogicalModel, among visible: [ProviderSettings]) throws(APIError) -> [Candidate] {
        let byId = Dictionary(visible.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let usable = logical.upstreams.compactMap { upstream -> Candidate? in
            guard let provider = byId[upstream.providerId] else { return nil }
            return Candidate(
                provider: provider, upstreamModel: upstream.model, routeWeight: upstream.weight,
                priceMultiplierBasisPoints: logical.priceMultiplierBasisPoints, priority: upstream.priority
            )
        }
        guard !usable.isEmpty else {
            throw APIError(
                .serviceUnavailable, .unavailable, "no upstream of the logical model '\(logical.name)' is available to this key right now",
                code: "logical_model_unavailable"
            )
        }
        return usable
    }

    /// `provider/model`. A byte scan: with Foundation imported, `contains("/")` went through `NSString` (~1 % of a request).
    static func isPinned(_ model: String) -> Bool {
        model.utf8.contains(UInt8(ascii: "/"))
    }

    /// A key allowed `gpt-4o` may use `openai/gpt-4o` too; a key allowed only `openai/gpt-4o` may not use other providers.
    static func isAllowed(_ model: String, by allowed: [String]) -> Bool {
        if allowed.contains(model) { return true }
        if let slash = model.firstIndex(of: "/") { return allowed.contains(String(model[model.index(after: slash)...])) }
        return false
    }
}
