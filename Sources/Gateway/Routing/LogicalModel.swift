import Core

/// A name clients use (e.g. `fast`) that maps to weighted, prioritised physical upstreams. Global ones (no owner)
/// are managed by system administrators; an organisation's own are visible to it alone and take precedence.
public struct LogicalModel: Sendable, Equatable {
    public struct Upstream: Sendable, Equatable {
        public let id: String
        public let providerId: String
        public let model: String
        public let weight: Double
        /// Lower runs first; weights order upstreams within one priority.
        public let priority: Int
    }

    public static let strategies = ["balanced", "latency", "cost", "reliability", "weighted"]

    public let id: String
    /// nil: global.
    public let orgId: String?
    public let name: String
    public let description: String?
    public let strategy: String
    /// Multiplies the price of every request routed through this name (basis points, 10000 = 1.0).
    public let priceMultiplierBasisPoints: Int
    public let upstreams: [Upstream]

    public func json(providers: [ProviderSettings]) -> JSONValue {
        let slugs = Dictionary(providers.map { ($0.id, $0.slug) }, uniquingKeysWith: { first, _ in first })
        return .object([
            "id": .string(id),
            "name": .string(name),
            "scope": .string(orgId == nil ? "global" : "organization"),
            "description": description.map(JSONValue.string) ?? .null,
            "strategy": .string(strategy),
            "price_multiplier": .string(Credits(micros: Int64(priceMultiplierBasisPoints) * 100).description),
            "upstreams": .array(upstreams.map { upstream in
                .object([
                    "id": .string(upstream.id), "provider_id": .string(upstream.providerId),
                    "provider": slugs[upstream.providerId].map(JSONValue.string) ?? .null, "model": .string(upstream.model),
                    "weight": .double(upstream.weight), "priority": .int(Int64(upstream.priority)),
                ])
            }),
        ])
    }
}
