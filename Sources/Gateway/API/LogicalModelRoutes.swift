import Core
import Hummingbird
import Tenancy

/// `/orgs/{org}/logical-models/…` (an organisation's own names, plus the global ones it can see) and
/// `/system/logical-models/…` (global names). Only system administrators set price multipliers.
public struct LogicalModelRoutes: Sendable {
    private let registry: ProviderRegistry

    public init(gateway: GatewayService) {
        self.registry = gateway.registry
    }

    private var store: LogicalModelStore { registry.logicalStore }

    public func register(on api: ManagementRouter) {
        let tag = "routing"
        api.add(.get, "/orgs/{org}/logical-models", access: .org(.routingView), tag: tag,
                summary: "The organisation's logical models and the global ones it can use") { call in
            let orgId = try call.organization().org.id
            let providers = registry.providers
            let visible = registry.logicalModels.filter { $0.orgId == orgId || $0.orgId == nil }
            return JSONResponse.object(["data": .array(visible.map { $0.json(providers: providers) })])
        }
        api.add(.get, "/orgs/{org}/logical-models/{model}", access: .org(.routingView), tag: tag, summary: "One logical model") { call in
            let orgId = try call.organization().org.id
            let id = try call.parameter("model")
            guard let model = registry.logicalModels.first(where: { $0.id == id && ($0.orgId == orgId || $0.orgId == nil) }) else {
                throw APIError.notFound("logical model '\(id)' not found", code: "logical_model_not_found")
            }
            return JSONResponse.make(model.json(providers: registry.providers))
        }
        api.add(.post, "/orgs/{org}/logical-models", access: .org(.routingManage), tag: tag,
                summary: "Create a logical model for the organisation", body: Self.createSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            if body.has("price_multiplier") {
                throw APIError.forbidden("only system administrators set price multipliers (on global logical models)", code: "multiplier_not_allowed")
            }
            return try await create(body, scope: .organization(try call.organization().org.id), multiplier: 10_000, call: call)
        }
        api.add(.patch, "/orgs/{org}/logical-models/{model}", access: .org(.routingManage), tag: tag,
                summary: "Change an organisation's logical model", body: Self.changeSchema) { call in
            var call = call
            let scope = LogicalModelStore.Scope.organization(try call.organization().org.id)
            try await store.requireOwned(try call.parameter("model"), scope: scope)
            let body = try await call.body()
            if body.has("price_multiplier") {
                throw APIError.forbidden("only system administrators set price multipliers (on global logical models)", code: "multiplier_not_allowed")
            }
            return try await update(body, scope: scope, call: call)
        }
        api.add(.delete, "/orgs/{org}/logical-models/{model}", access: .org(.routingManage), tag: tag,
                summary: "Delete an organisation's logical model", status: .noContent) { call in
            try await store.delete(.organization(try call.organization().org.id), id: try call.parameter("model"), actor: call.actor, client: call.client)
            try await registry.changed()
            return JSONResponse.noContent
        }
        api.add(.post, "/orgs/{org}/logical-models/{model}/upstreams", access: .org(.routingManage), tag: tag,
                summary: "Add an upstream (provider + model, weight, priority)", body: Self.upstreamSchema, status: .created) { call in
            var call = call
            let scope = LogicalModelStore.Scope.organization(try call.organization().org.id)
            try await store.requireOwned(try call.parameter("model"), scope: scope)
            let body = try await call.body()
            return try await addUpstream(body, scope: scope, call: call)
        }
        api.add(.delete, "/orgs/{org}/logical-models/{model}/upstreams/{upstream}", access: .org(.routingManage), tag: tag,
                summary: "Remove an upstream", status: .noContent) { call in
            try await store.removeUpstream(
                .organization(try call.organization().org.id), modelId: try call.parameter("model"), upstreamId: try call.parameter("upstream"),
                actor: call.actor, client: call.client
            )
            try await registry.changed()
            return JSONResponse.noContent
        }

        api.add(.get, "/system/logical-models", access: .system, tag: "system", summary: "Global logical models") { _ in
            let providers = registry.providers
            return JSONResponse.object(["data": .array(registry.logicalModels.filter { $0.orgId == nil }.map { $0.json(providers: providers) })])
        }
        api.add(.post, "/system/logical-models", access: .system, tag: "system",
                summary: "Create a global logical model (with an optional price multiplier)", body: Self.createSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            return try await create(body, scope: .global, multiplier: try Self.multiplier(body) ?? 10_000, call: call)
        }
        api.add(.patch, "/system/logical-models/{model}", access: .system, tag: "system", summary: "Change a global logical model",
                body: Self.changeSchema) { call in
            var call = call
            let body = try await call.body()
            return try await update(body, scope: .global, call: call)
        }
        api.add(.delete, "/system/logical-models/{model}", access: .system, tag: "system", summary: "Delete a global logical model",
                status: .noContent) { call in
            try await store.delete(.global, id: try call.parameter("model"), actor: call.actor, client: call.client)
            try await registry.changed()
            return JSONResponse.noContent
        }
        api.add(.post, "/system/logical-models/{model}/upstreams", access: .system, tag: "system",
                summary: "Add an upstream to a global logical model", body: Self.upstreamSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            return try await addUpstream(body, scope: .global, call: call)
        }
        api.add(.delete, "/system/logical-models/{model}/upstreams/{upstream}", access: .system, tag: "system",
                summary: "Remove an upstream from a global logical model", status: .noContent) { call in
            try await store.removeUpstream(
                .global, modelId: try call.parameter("model"), upstreamId: try call.parameter("upstream"), actor: call.actor, client: call.client
            )
            try await registry.changed()
            return JSONResponse.noContent
        }
    }

    private func create(_ body: Fields, scope: LogicalModelStore.Scope, multiplier: Int, call: ManagementCall) async throws -> Response {
        let upstreams = try (body.array("upstreams") ?? []).enumerated().map { index, value throws(APIError) in
            try LogicalModelStore.UpstreamInput(body.element(value, of: "upstreams", at: index))
        }
        let id = try await store.create(
            scope, name: try body.requiredString("name"), description: try body.string("description"),
            strategy: try body.string("strategy") ?? "balanced", multiplierBasisPoints: multiplier, upstreams: upstreams,
            actor: call.actor, client: call.client
        )
        try await registry.changed()
        return try rendered(id, status: .created)
    }

    private func update(_ body: Fields, scope: LogicalModelStore.Scope, call: ManagementCall) async throws -> Response {
        let id = try call.parameter("model")
        // Absent: unchanged; null: cleared; a string: set.
        var description: String?? = nil
        if let value = body.object["description"] { description = value == .null ? .some(nil) : .some(try body.string("description")) }
        try await store.update(
            scope, id: id, .init(description: description, strategy: try body.string("strategy"), multiplierBasisPoints: try Self.multiplier(body)),
            actor: call.actor, client: call.client
        )
        try await registry.changed()
        return try rendered(id, status: .ok)
    }

    private func addUpstream(_ body: Fields, scope: LogicalModelStore.Scope, call: ManagementCall) async throws -> Response {
        let modelId = try call.parameter("model")
        _ = try await store.addUpstream(scope, modelId: modelId, try LogicalModelStore.UpstreamInput(body), actor: call.actor, client: call.client)
        try await registry.changed()
        return try rendered(modelId, status: .created)
    }

    private func rendered(_ id: String, status: HTTPResponse.Status) throws -> Response {
        guard let model = registry.logicalModels.first(where: { $0.id == id }) else {
            throw APIError.notFound("logical model '\(id)' not found", code: "logical_model_not_found")
        }
        return JSONResponse.make(model.json(providers: registry.providers), status: status)
    }

    /// `"1.25"` → 12500 basis points; at most four decimals, between 0.01 and 100.
    static func multiplier(_ body: Fields) throws -> Int? {
        guard let text = try body.string("price_multiplier") else { return nil }
        guard let value = Credits(parsing: text), value.micros % 100 == 0, (10_000...100_000_000).contains(value.micros) else {
            throw APIError.badRequest("price_multiplier must be a decimal such as 1.25 (0.01-100, up to 4 decimals), as a string", param: "price_multiplier")
        }
        return Int(value.micros / 100)
    }

    static let upstreamSchema = Schemas.object(required: ["provider", "model"], [
        "provider": Schemas.string, "model": Schemas.string, "weight": .object(["type": "number"]), "priority": Schemas.integer,
    ])
    static let createSchema = Schemas.object(required: ["name"], [
        "name": Schemas.string, "description": Schemas.string, "strategy": Schemas.string, "price_multiplier": Schemas.string,
        "upstreams": .object(["type": "array", "items": upstreamSchema]),
    ])
    static let changeSchema = Schemas.object([
        "description": Schemas.string, "strategy": Schemas.string, "price_multiplier": Schemas.string,
    ])
}
