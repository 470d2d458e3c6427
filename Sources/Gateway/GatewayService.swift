import Billing
import Core
import Logging
import ServiceLifecycle
import Tenancy

/// The gateway's parts wired together: provider registry, model catalogue, upstream HTTP and the proxy engine.
/// `services` run in the server's service group (registry reloads, catalogue refresh).
public struct GatewayService: Sendable {
    public let registry: ProviderRegistry
    public let catalog: ModelCatalog
    public let http: UpstreamHTTP
    let engine: ProxyEngine
    public var stickiness: SessionStickiness { engine.stickiness }

    public init(
        store: ProviderStore, sharedState: any SharedState, environment: GatewayEnvironment, modelsCacheTTL: Duration, billing: BillingService,
        logger: Logger
    ) {
        let registry = ProviderRegistry(store: store, sharedState: sharedState, logger: logger)
        let http = UpstreamHTTP()
        let builder = UpstreamRequestBuilder(browserHeaders: environment.browserHeaders)
        let catalog = ModelCatalog(registry: registry, http: http, builder: builder, ttl: modelsCacheTTL, logger: logger)
        self.registry = registry
        self.catalog = catalog
        self.http = http
        self.engine = ProxyEngine(
            resolver: CandidateResolver(registry: registry, catalog: catalog), http: http, builder: builder,
            usageLog: Logger(label: "aihigress.gateway"), metering: RequestMetering(billing: billing, logger: logger),
            resilience: Resilience(
                breaker: CircuitBreaker(sharedState: sharedState, settings: environment.breaker), store: store, sharedState: sharedState, logger: logger
            ),
            stickiness: SessionStickiness(sharedState: sharedState, ttl: environment.stickyTTL),
            maxAttempts: environment.breaker.maxAttempts, failoverBudget: environment.breaker.failoverBudget
        )
    }

    public var services: [any Service] { [registry, catalog] }

    /// The organisation's models: each plain id once, plus `slug/model` for every provider offering it.
    func visibleModels(for identity: APIKeyIdentity) async throws -> [(id: String, owner: String)] {
        var plain: [String: String] = [:]
        var prefixed: [(String, String)] = []
        for provider in registry.providers
        where provider.isUsable && provider.isVisible(to: identity.orgId) && identity.mayUse(providerSlug: provider.slug) {
            for model in await catalog.models(of: provider) {
                if plain[model] == nil { plain[model] = provider.slug }
                prefixed.append(("\(provider.slug)/\(model)", provider.slug))
            }
        }
        // Logical names the organisation can use; routing prefers them over a physical model of the same name.
        for logical in registry.logicalModels where logical.orgId == identity.orgId || logical.orgId == nil {
            plain[logical.name] = "logical"
        }
        var all = plain.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 } + prefixed.sorted { $0.0 < $1.0 }
        if let allowed = identity.allowedModels {
            all = all.filter { CandidateResolver.isAllowed($0.0, by: allowed) }
        }
        return all.map { (id: $0.0, owner: $0.1) }
    }
}
