import Core
import Hummingbird
import Tenancy

/// `/orgs/{org}/providers/…` (and `/providers/…` for API keys): the providers an organisation can use — public
/// ones and its own private ones — with their health, circuit state and models. Read-only. Key secrets never
/// appear, and a public provider's base URL is not shown (an organisation sees only its own providers' URLs).
public struct ProviderRoutes: Sendable {
    private let registry: ProviderRegistry
    private let catalog: ModelCatalog
    private let health: ProviderHealth
    private let prober: HealthProber
    private let breaker: CircuitBreaker
    private let metrics: UpstreamMetrics

    public init(gateway: GatewayService) {
        self.metrics = gateway.metrics
        self.registry = gateway.registry
        self.catalog = gateway.catalog
        self.health = gateway.health
        self.prober = gateway.prober
        self.breaker = gateway.engine.resilience.breaker
    }

    public func register(on api: ManagementRouter) {
        let tag = "providers"
        api.add(.get, "/orgs/{org}/providers", access: .org(.providersView), tag: tag,
                summary: "Providers the organisation can use, with health and circuit state", apiKeys: true) { call in
            let orgId = try call.organization().org.id
            var items: [JSONValue] = []
            for provider in registry.providers.filter({ $0.isVisible(to: orgId) }).sorted(by: { $0.slug < $1.slug }) {
                items.append(await describe(provider, for: orgId))
            }
            return JSONResponse.object(["data": .array(items)])
        }
        api.add(.get, "/orgs/{org}/providers/{provider}", access: .org(.providersView), tag: tag,
                summary: "One provider (by id or slug)", apiKeys: true) { call in
            let orgId = try call.organization().org.id
            return JSONResponse.make(await describe(try visibleProvider(call, orgId: orgId), for: orgId))
        }
        api.add(.get, "/orgs/{org}/providers/{provider}/models", access: .org(.providersView), tag: tag,
                summary: "The provider's models (OpenAI list shape)", apiKeys: true) { call in
            let provider = try visibleProvider(call, orgId: try call.organization().org.id)
            let models = await catalog.models(of: provider).map { model -> JSONValue in
                .object(["id": .string(model), "object": "model", "owned_by": .string(provider.slug)])
            }
            return JSONResponse.object(["object": "list", "data": .array(models)])
        }
        api.add(.get, "/orgs/{org}/providers/{provider}/health", access: .org(.providersView), tag: tag,
                summary: "Probe the provider now and return its health record", apiKeys: true) { call in
            let provider = try visibleProvider(call, orgId: try call.organization().org.id)
            return JSONResponse.make(await prober.check(provider).json)
        }
        api.add(.get, "/orgs/{org}/providers/{provider}/metrics", access: .org(.providersView), tag: tag,
                summary: "Live figures per model (all instances, last window), circuit state of the provider and its keys", apiKeys: true) { call in
            let provider = try visibleProvider(call, orgId: try call.organization().org.id)
            var keys: [JSONValue] = []
            for key in provider.keys {
                keys.append(.object(["id": .string(key.id), "label": .string(key.label), "circuit": await circuit(.key(key.id))]))
            }
            let models = metrics.models(of: provider.id).map { model -> JSONValue in
                var fields = metrics.stats(.init(providerId: provider.id, model: model)).json.objectValue ?? [:]
                fields["model"] = .string(model)
                return .object(fields)
            }
            return JSONResponse.object([
                "provider_id": .string(provider.id), "provider": .string(provider.slug), "window_seconds": .int(metrics.windowSeconds),
                "circuit": await circuit(.provider(provider.id)), "keys": .array(keys), "models": .array(models),
            ])
        }
    }

    /// The `{provider}` parameter (id or slug) among the providers the organisation can see; others are 404.
    private func visibleProvider(_ call: ManagementCall, orgId: String) throws(APIError) -> ProviderSettings {
        let reference = try call.parameter("provider")
        guard let provider = registry.providers.first(where: { ($0.id == reference || $0.slug == reference) && $0.isVisible(to: orgId) }) else {
            throw APIError.notFound("provider '\(reference)' not found", code: "provider_not_found")
        }
        return provider
    }

    private func describe(_ provider: ProviderSettings, for orgId: String) async -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(provider.id),
            "slug": .string(provider.slug),
            "name": .string(provider.name),
            "kind": .string(provider.kind.rawValue),
            "visibility": provider.ownerOrgId == nil ? "public" : "private",
            "status": .string(provider.status),
            "approval": .string(provider.approval),
            "region": provider.region.map(JSONValue.string) ?? .null,
            "weight": .double(provider.weight),
            "key_count": .int(Int64(provider.keys.count)),
            "health": health.status(provider.id)?.json ?? .null,
            "circuit": await circuit(.provider(provider.id)),
        ]
        if provider.ownerOrgId == orgId { fields["base_url"] = .string(provider.baseURL) }
        return .object(fields)
    }

    private func circuit(_ subject: CircuitBreaker.Subject) async -> JSONValue {
        guard let left = await breaker.remainingCooldown(subject) else { return .object(["state": "closed"]) }
        return .object(["state": "open", "retry_after_seconds": .int(Int64(left.seconds.rounded(.up)))])
    }
}
