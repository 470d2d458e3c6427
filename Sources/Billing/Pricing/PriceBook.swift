import Core
import Logging
import NIOConcurrencyHelpers
import SQLKit
import Tenancy

/// Answers "what does this model cost here": operator overrides in `model_prices` (an organisation's own for its
/// private providers first, then per provider, then per model), then the shipped list, then the configured
/// default — or nil, which the gateway turns into a refusal. Overrides are cached in memory and reloaded every
/// few seconds and on `invalidate:prices`.
public final class PriceBook: Sendable {
    public static let invalidationChannel = "invalidate:prices"

    struct Key: Hashable, Sendable {
        let model: String
        let providerId: String
        let orgId: String
    }

    private let database: Database
    private let settings: BillingSettings
    private let overrides = NIOLockedValueBox<[Key: Price]>([:])

    public init(database: Database, settings: BillingSettings) {
        self.database = database
        self.settings = settings
    }

    public func price(model: String, providerId: String, orgId: String) -> Price? {
        let table = overrides.withLockedValue { $0 }
        for key in [Key(model: model, providerId: providerId, orgId: orgId), Key(model: model, providerId: "", orgId: orgId),
                    Key(model: model, providerId: providerId, orgId: ""), Key(model: model, providerId: "", orgId: "")] {
            if let price = table[key] { return price }
        }
        if let shipped = ShippedPrices.price(for: model) { return shipped }
        guard settings.unpriced == .default else { return nil }
        return Price(inputPerMillion: settings.defaultInputPrice.micros, outputPerMillion: settings.defaultOutputPrice.micros, source: "default")
    }

    public func reload() async throws {
        let rows = try await database.query(
            """
            SELECT model, provider_id, org_id, input_per_million, output_per_million, cached_input_per_million, reasoning_per_million,
                   per_image, per_request FROM model_prices
            """
        )
        var table: [Key: Price] = [:]
        for row in rows {
            let key = Key(
                model: try row.decode(column: "model", as: String.self), providerId: try row.decode(column: "provider_id", as: String.self),
                orgId: try row.decode(column: "org_id", as: String.self)
            )
            table[key] = Price(
                inputPerMillion: try row.decode(column: "input_per_million", as: Int64.self),
                outputPerMillion: try row.decode(column: "output_per_million", as: Int64.self),
                cachedInputPerMillion: try row.decode(column: "cached_input_per_million", as: Int64?.self),
                reasoningPerMillion: try row.decode(column: "reasoning_per_million", as: Int64?.self),
                perImage: try row.decode(column: "per_image", as: Int64.self), perRequest: try row.decode(column: "per_request", as: Int64.self),
                source: key.orgId.isEmpty ? "override" : "organization override"
            )
        }
        overrides.withLockedValue { $0 = table }
    }

    /// Sets (or with nil, removes) an override. Call `reload` (or publish the invalidation) afterwards.
    public func store(model: String, providerId: String, orgId: String, price: Price?, actor: Tenancy.Actor, on db: any SQLDatabase) async throws {
        try await db.raw(
            "DELETE FROM model_prices WHERE model = \(bind: model) AND provider_id = \(bind: providerId) AND org_id = \(bind: orgId)"
        ).run()
        guard let price else { return }
        try await db.raw(
            """
            INSERT INTO model_prices (id, model, provider_id, org_id, input_per_million, output_per_million, cached_input_per_million,
                reasoning_per_million, per_image, per_request, source, updated_by, updated_at)
            VALUES (\(bind: Identifier.make()), \(bind: model), \(bind: providerId), \(bind: orgId), \(bind: price.inputPerMillion),
                \(bind: price.outputPerMillion), \(bind: price.cachedInputPerMillion), \(bind: price.reasoningPerMillion),
                \(bind: price.perImage), \(bind: price.perRequest), \(bind: price.source), \(bind: actor.id), \(bind: EpochMillis.now()))
            """
        ).run()
    }

    /// Every override plus the shipped list, for `GET /pricing`.
    public func listing() -> JSONValue {
        let table = overrides.withLockedValue { $0 }
        let overridden = table.sorted { ($0.key.model, $0.key.providerId, $0.key.orgId) < ($1.key.model, $1.key.providerId, $1.key.orgId) }
            .map { key, price -> JSONValue in
                var fields = price.json.objectValue ?? [:]
                fields["model"] = .string(key.model)
                fields["provider_id"] = key.providerId.isEmpty ? .null : .string(key.providerId)
                fields["org_id"] = key.orgId.isEmpty ? .null : .string(key.orgId)
                return .object(fields)
            }
        let shipped = ShippedPrices.table.keys.sorted().compactMap { model -> JSONValue? in
            guard var fields = ShippedPrices.price(for: model)?.json.objectValue else { return nil }
            fields["model"] = .string(model)
            return .object(fields)
        }
        return .object([
            "overrides": .array(overridden), "shipped": .array(shipped), "shipped_taken": .string(ShippedPrices.taken),
            "unpriced_models": .string(settings.unpriced.rawValue),
        ])
    }
}
