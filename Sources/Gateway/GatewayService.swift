import Billing
import Core
import Logging
import ServiceLifecycle
import Tenancy

/// The gateway's parts wired together: provider registry, model catalogue, upstream HTTP and the proxy engine.
/// `services` run in the server's service group (registry reloads, catalogue refresh, health probes).
public struct GatewayService: Sendable {
    public let registry: ProviderRegistry
    public let catalog: ModelCatalog
    public let http: UpstreamHTTP
    public let health: ProviderHealth
    public let prober: HealthProber
    public let metrics: UpstreamMetrics
    let engine: ProxyEngine
    public var stickiness: SessionStickiness { engine.stickiness }
    public var context: SessionContext { engine.context }

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
        let probes = environment.healthProbes
        let health = ProviderHealth(
            sharedState: sharedState, failuresToDown: probes.failuresToDown, recordLifetime: probes.recordLifetime, logger: logger
        )
        self.health = health
        let metrics = UpstreamMetrics(sharedState: sharedState, logger: logger)
        self.metrics = metrics
        self.prober = HealthProber(
            registry: registry, catalog: catalog, http: http, builder: builder, health: health, sharedState: sharedState, settings: probes,
            logger: logger,
            // A chat probe is a real sample of that upstream; a model listing says nothing about a model's latency.
            observer: { provider, seen in
                guard let model = seen.model else { return }
                metrics.observe(.init(providerId: provider.id, model: model), latency: seen.latency, succeeded: seen.succeeded)
            }
        )
        self.engine = ProxyEngine(
            resolver: CandidateResolver(registry: registry, catalog: catalog), http: http, builder: builder,
            usageLog: Logger(label: "aihigress.gateway"), metering: RequestMetering(billing: billing, logger: logger),
            resilience: Resilience(
                breaker: CircuitBreaker(sharedState: sharedState, settings: environment.breaker), store: store, sharedState: sharedState, logger: logger
            ),
            stickiness: SessionStickiness(sharedState: sharedState, ttl: environment.stickyTTL),
            context: SessionContext(
                sharedState: sharedState, ttl: environment.stickyTTL, turns: environment.routing.contextTurns,
                characters: environment.routing.contextCharacters
            ),
            planner: RoutePlanner(
                metrics: metrics, prices: billing.prices, isDown: { [health] in health.isDown($0) }, defaultStrategy: environment.routing.defaultStrategy
            ),
            maxAttempts: environment.breaker.maxAttempts, failoverBudget: environment.breaker.failoverBudget
        )
    }

    public var services: [any Service] { [registry, catalog, prober, metrics] }

    /// The organisation's models: each plain id once, plus `slug/model` for every provider offering it.
    func visibleModels(for identity: APIKeyIdentity) async throws -> [(id: String, owner: String)] {
        var plain: [String: String] = [:]
        var prefixed: [(String, String)] = []
        for provider in registry.providers
        where provider.isUsable && provider.isVisible(to: identity.orgId) && identity.mayUse(providerSlug: provider.slug) {
            for model in Set(await catalog.models(of: provider)).union(provider.modelAliases.keys).sorted() {
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
