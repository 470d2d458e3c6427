import Core
import SQLKit
import Tenancy

/// Reads and writes logical models. Every write is scoped: an organisation's routes touch only rows with its id,
/// the system routes only global rows, so another owner's id is simply not found.
public struct LogicalModelStore: Sendable {
    /// Who is writing: an organisation (its own models) or the platform (global models).
    public enum Scope: Sendable, Equatable {
        case organization(String)
        case global

        var column: String {
            switch self {
            case .organization(let id): id
            case .global: ""
            }
        }
    }

    public struct UpstreamInput: Sendable {
        public let provider: String
        public let model: String
        public let weight: Double
        public let priority: Int

        /// `{provider: slug or id, model, weight?, priority?}`.
        public init(_ fields: Fields) throws(APIError) {
            provider = try fields.requiredString("provider")
            model = try fields.requiredString("model")
            guard !model.isEmpty, model.count <= 200 else { throw fields.invalid("model", "must be 1-200 characters") }
            let weight = try fields.double("weight") ?? 1
            guard weight > 0, weight.isFinite, weight <= 1_000_000 else { throw fields.invalid("weight", "must be a positive number") }
            self.weight = weight
            let priority = try fields.int("priority") ?? 0
            guard (0...1000).contains(priority) else { throw fields.invalid("priority", "must be 0-1000 (lower runs first)") }
            self.priority = priority
        }
    }

    let database: Database
    private let audit = AuditLog()

    public init(database: Database) {
        self.database = database
    }

    public static func validate(name: String) throws(APIError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || [0x2D, 0x2E, 0x5F, 0x3A].contains(byte)
        }
        guard (1...100).contains(name.utf8.count), allowed else {
            throw .badRequest("name must be 1-100 letters, digits, '-', '.', '_' or ':' ('/' is reserved for provider/model)", param: "name")
        }
    }

    public static func validate(strategy: String) throws(APIError) {
        guard LogicalModel.strategies.contains(strategy) else {
            throw .badRequest("strategy must be one of \(LogicalModel.strategies.joined(separator: ", "))", param: "strategy")
        }
    }

    public func loadAll() async throws -> [LogicalModel] {
        let models = try await database.query("SELECT * FROM logical_models ORDER BY org_id, name")
        let upstreamRows = try await database.query("SELECT * FROM logical_model_upstreams ORDER BY priority, id")
        var upstreams: [String: [LogicalModel.Upstream]] = [:]
        for row in upstreamRows {
            upstreams[try row.decode(column: "logical_model_id", as: String.self), default: []].append(.init(
                id: try row.decode(column: "id", as: String.self), providerId: try row.decode(column: "provider_id", as: String.self),
                model: try row.decode(column: "model", as: String.self), weight: try row.decode(column: "weight", as: Double.self),
                priority: try row.decode(column: "priority", as: Int.self)
            ))
        }
        return try models.map { row in
            let id = try row.decode(column: "id", as: String.self)
            let org = try row.decode(column: "org_id", as: String.self)
            return LogicalModel(
                id: id, orgId: org.isEmpty ? nil : org, name: try row.decode(column: "name", as: String.self),
                description: try row.decode(column: "description", as: String?.self), strategy: try row.decode(column: "strategy", as: String.self),
                priceMultiplierBasisPoints: try row.decode(column: "price_multiplier_bp", as: Int.self), upstreams: upstreams[id] ?? []
            )
        }
    }

    public func create(
        _ scope: Scope, name: String, description: String?, strategy: String, multiplierBasisPoints: Int, upstreams: [UpstreamInput],
        actor: Actor, client: ClientInfo
    ) async throws -> String {
        try Self.validate(name: name)
        try Self.validate(strategy: strategy)
        let id = Identifier.make()
        let audit = self.audit
        try await database.transaction { db in
            guard try await db.raw("SELECT id FROM logical_models WHERE org_id = \(bind: scope.column) AND name = \(bind: name)").first() == nil else {
                throw APIError.conflict("a logical model named '\(name)' exists already", code: "logical_model_exists")
            }
            let now = EpochMillis.now()
            try await db.raw(
                """
                INSERT INTO logical_models (id, org_id, name, description, strategy, price_multiplier_bp, created_at, updated_at)
                VALUES (\(bind: id), \(bind: scope.column), \(bind: name), \(bind: description), \(bind: strategy),
                        \(bind: multiplierBasisPoints), \(bind: now), \(bind: now))
                """
            ).run()
            for upstream in upstreams { _ = try await Self.insert(upstream, into: id, scope: scope, on: db) }
            try await audit.append(
                .init(orgId: scope.orgId, actor: actor, action: "logical_model.created", targetKind: "logical_model", targetId: id,
                      ip: client.ip, userAgent: client.userAgent, details: ["name": .string(name)]),
                on: db
            )
        }
        return id
    }

    public struct Change: Sendable {
        public var description: String??
        public var strategy: String?
        public var multiplierBasisPoints: Int?

        public init(description: String??, strategy: String?, multiplierBasisPoints: Int?) {
            self.description = description
            self.strategy = strategy
            self.multiplierBasisPoints = multiplierBasisPoints
        }
    }

    public func update(_ scope: Scope, id: String, _ change: Change, actor: Actor, client: ClientInfo) async throws {
        if let strategy = change.strategy { try Self.validate(strategy: strategy) }
        let audit = self.audit
        try await database.transaction { db in
            try await Self.requireOwned(id, scope: scope, on: db)
            let now = EpochMillis.now()
            if let description = change.description {
                try await db.raw("UPDATE logical_models SET description = \(bind: description), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
            }
            if let strategy = change.strategy {
                try await db.raw("UPDATE logical_models SET strategy = \(bind: strategy), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
            }
            if let multiplier = change.multiplierBasisPoints {
                try await db.raw("UPDATE logical_models SET price_multiplier_bp = \(bind: multiplier), updated_at = \(bind: now) WHERE id = \(bind: id)").run()
            }
            try await audit.append(
                .init(orgId: scope.orgId, actor: actor, action: "logical_model.updated", targetKind: "logical_model", targetId: id,
                      ip: client.ip, userAgent: client.userAgent),
                on: db
            )
        }
    }

    public func delete(_ scope: Scope, id: String, actor: Actor, client: ClientInfo) async throws {
        let audit = self.audit
        try await database.transaction { db in
            try await Self.requireOwned(id, scope: scope, on: db)
            try await db.raw("DELETE FROM logical_models WHERE id = \(bind: id)").run()
            try await audit.append(
                .init(orgId: scope.orgId, actor: actor, action: "logical_model.deleted", targetKind: "logical_model", targetId: id,
                      ip: client.ip, userAgent: client.userAgent),
                on: db
            )
        }
    }

    public func addUpstream(_ scope: Scope, modelId: String, _ upstream: UpstreamInput, actor: Actor, client: ClientInfo) async throws -> String {
        let audit = self.audit
        return try await database.transaction { db in
            try await Self.requireOwned(modelId, scope: scope, on: db)
            let id = try await Self.insert(upstream, into: modelId, scope: scope, on: db)
            try await audit.append(
                .init(orgId: scope.orgId, actor: actor, action: "logical_model.upstream_added", targetKind: "logical_model", targetId: modelId,
                      ip: client.ip, userAgent: client.userAgent, details: ["provider": .string(upstream.provider), "model": .string(upstream.model)]),
                on: db
            )
            return id
        }
    }

    public func removeUpstream(_ scope: Scope, modelId: String, upstreamId: String, actor: Actor, client: ClientInfo) async throws {
        let audit = self.audit
        try await database.transaction { db in
            try await Self.requireOwned(modelId, scope: scope, on: db)
            let removed = try await db.raw(
                "DELETE FROM logical_model_upstreams WHERE id = \(bind: upstreamId) AND logical_model_id = \(bind: modelId) RETURNING id"
            ).all()
            guard !removed.isEmpty else { throw APIError.notFound("upstream '\(upstreamId)' not found", code: "upstream_not_found") }
            try await audit.append(
                .init(orgId: scope.orgId, actor: actor, action: "logical_model.upstream_removed", targetKind: "logical_model", targetId: modelId,
                      ip: client.ip, userAgent: client.userAgent, details: ["upstream_id": .string(upstreamId)]),
                on: db
            )
        }
    }

    /// 404 unless the model exists in this scope (checked before a request body is read, so a foreign id is
    /// always "not found", whatever the body).
    public func requireOwned(_ id: String, scope: Scope) async throws {
        try await database.withConnection { db in try await Self.requireOwned(id, scope: scope, on: db) }
    }

    static func requireOwned(_ id: String, scope: Scope, on db: any SQLDatabase) async throws {
        guard try await db.raw("SELECT id FROM logical_models WHERE id = \(bind: id) AND org_id = \(bind: scope.column)").first() != nil else {
            throw APIError.notFound("logical model '\(id)' not found", code: "logical_model_not_found")
        }
    }

    /// The provider must be usable by the scope: public for global models, public or the organisation's own otherwise.
    private static func insert(_ upstream: UpstreamInput, into modelId: String, scope: Scope, on db: any SQLDatabase) async throws -> String {
        guard let provider = try await db.raw(
            """
            SELECT id FROM providers WHERE (id = \(bind: upstream.provider) OR slug = \(bind: upstream.provider))
            AND (owner_org_id IS NULL OR owner_org_id = \(bind: scope.column))
            """
        ).first() else {
            throw APIError.notFound("provider '\(upstream.provider)' not found", code: "provider_not_found")
        }
        let providerId = try provider.decode(column: "id", as: String.self)
        guard try await db.raw(
            """
            SELECT id FROM logical_model_upstreams WHERE logical_model_id = \(bind: modelId) AND provider_id = \(bind: providerId)
            AND model = \(bind: upstream.model)
            """
        ).first() == nil else {
            throw APIError.conflict("this upstream is already part of the logical model", code: "upstream_exists")
        }
        let id = Identifier.make()
        try await db.raw(
            """
            INSERT INTO logical_model_upstreams (id, logical_model_id, provider_id, model, weight, priority, created_at)
            VALUES (\(bind: id), \(bind: modelId), \(bind: providerId), \(bind: upstream.model), \(bind: upstream.weight),
                    \(bind: upstream.priority), \(bind: EpochMillis.now()))
            """
        ).run()
        return id
    }
}

extension LogicalModelStore.Scope {
    var orgId: String? {
        if case .organization(let id) = self { return id }
        return nil
    }
}
