import Core
import SQLKit

/// API keys: `ahg-` followed by 48 random base62 characters. Only an HMAC-SHA-256 of the key is stored, plus a
/// visible prefix (`ahg-` and the next 8 characters) so people can tell their keys apart. Every organisation-side
/// query is scoped by the organisation id: another organisation's key id answers 404.
public struct APIKeys: Sendable {
    public struct Created: Sendable {
        public let id: String
        public let key: String
        public let prefix: String
    }

    /// Per-key limits, stored with the key. Enforcement arrives with the billing issue (quotas and rate limits).
    /// Per-key limits (requests/tokens per minute, concurrency, monthly budget), enforced by billing quotas.
    public typealias RateLimits = UsageLimits

    /// What a new key may do.
    public struct Settings: Sendable {
        public var name: String
        public var expiresInSeconds: Int64?
        public var allowedModels: [String]?
        /// Provider slugs; nil: every provider the organisation may use.
        public var allowedProviders: [String]?
        public var rateLimits: RateLimits?

        public init(name: String, expiresInSeconds: Int64? = nil, allowedModels: [String]? = nil, allowedProviders: [String]? = nil, rateLimits: RateLimits? = nil) {
            self.name = name
            self.expiresInSeconds = expiresInSeconds
            self.allowedModels = allowedModels
            self.allowedProviders = allowedProviders
            self.rateLimits = rateLimits
        }

        func validate() throws(APIError) {
            try InputRules.validateName(name, field: "name")
            if let models = allowedModels, models.isEmpty || models.contains(where: { $0.isEmpty || $0.count > 200 }) {
                throw .badRequest("allowed_models must be a non-empty list of model names", param: "allowed_models")
            }
            if let providers = allowedProviders {
                let ok = !providers.isEmpty && providers.allSatisfy { $0.range(of: "^[a-z0-9][a-z0-9_-]{0,62}$", options: .regularExpression) != nil }
                guard ok else { throw .badRequest("allowed_providers must be a non-empty list of provider slugs", param: "allowed_providers") }
            }
        }
    }

    public static let scheme = "ahg-"
    static let secretLength = 48
    static let prefixLength = scheme.count + 8
    /// Shared-state channel on which revocations are announced (payload: the key hash).
    public static let invalidationChannel = "invalidate:api-keys"

    private let database: Database
    private let keyRing: KeyRing
    private let sharedState: any SharedState
    private let audit = AuditLog()

    public init(database: Database, keyRing: KeyRing, sharedState: any SharedState) {
        self.database = database
        self.keyRing = keyRing
        self.sharedState = sharedState
    }

    /// The CLI's path: by organisation slug.
    public func create(
        orgSlug: String, name: String, expiresInSeconds: Int64?, allowedModels: [String]?, createdBy: String?, actor: Actor
    ) async throws -> Created {
        let settings = Settings(name: name, expiresInSeconds: expiresInSeconds, allowedModels: allowedModels)
        try settings.validate()
        return try await database.transaction { db in
            guard let org = try await Directory().organization(slug: orgSlug, on: db) else {
                throw APIError.notFound("organization '\(orgSlug)' does not exist", code: "organization_not_found")
            }
            return try await self.insert(orgId: org.id, settings, createdBy: createdBy, actor: actor, client: nil, on: db)
        }
    }

    /// The management API's path: a key of the organisation, created by a signed-in user.
    public func create(orgId: String, _ settings: Settings, createdBy: String, client: ClientInfo) async throws -> Created {
        try settings.validate()
        return try await database.transaction { db in
            try await self.insert(orgId: orgId, settings, createdBy: createdBy, actor: .user(createdBy), client: client, on: db)
        }
    }

    private func insert(orgId: String, _ settings: Settings, createdBy: String?, actor: Actor, client: ClientInfo?, on db: any SQLDatabase) async throws -> Created {
        let now = EpochMillis.now()
        let created = try await insertRow(
            orgId: orgId, name: settings.name, createdBy: createdBy, expiresAt: settings.expiresInSeconds.map { now + $0 * 1000 },
            allowedModels: settings.allowedModels.map { JSONText.render(.array($0.map(JSONValue.string))) },
            allowedProviders: settings.allowedProviders.map { JSONText.render(.array($0.map(JSONValue.string))) },
            rateLimits: settings.rateLimits.map { JSONText.render($0.json) }, now: now, on: db
        )
        try await audit.append(
            .init(orgId: orgId, actor: actor, action: "api_key.created", targetKind: "api_key", targetId: created.id, ip: client?.ip, userAgent: client?.userAgent, details: ["name": .string(settings.name)]),
            on: db
        )
        return created
    }

    private func insertRow(
        orgId: String, name: String, createdBy: String?, expiresAt: Int64?, allowedModels: String?, allowedProviders: String?,
        rateLimits: String?, now: Int64, on db: any SQLDatabase
    ) async throws -> Created {
        let key = Self.scheme + RandomToken.base62(length: Self.secretLength)
        let created = Created(id: Identifier.make(), key: key, prefix: String(key.prefix(Self.prefixLength)))
        try await db.raw(
            """
            INSERT INTO api_keys (id, org_id, created_by, name, key_prefix, key_hash, allowed_models, allowed_providers, rate_limits,
                                  expires_at, created_at)
            VALUES (\(bind: created.id), \(bind: orgId), \(bind: createdBy), \(bind: name), \(bind: created.prefix),
                    \(bind: keyRing.hash(key, purpose: .apiKeyHash)), \(bind: allowedModels), \(bind: allowedProviders), \(bind: rateLimits),
                    \(bind: expiresAt), \(bind: now))
            """
        ).run()
        return created
    }

    /// The organisation's keys, newest first; never secrets or hashes.
    public func list(orgId: String, page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        let rows = try await database.query(
            """
            SELECT k.id, k.name, k.key_prefix, k.created_by, u.email AS created_by_email, k.allowed_models, k.allowed_providers,
                   k.rate_limits, k.expires_at, k.revoked_at, k.last_used_at, k.rotated_to, k.created_at
            FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
            WHERE k.org_id = \(bind: orgId) AND k.id < \(bind: page.cursor ?? "~") ORDER BY k.id DESC LIMIT \(bind: page.limit + 1)
            """
        )
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        return (try cut.items.map(Self.json), cut.next)
    }

    /// One key of the organisation, as listed.
    public func describe(id: String, orgId: String) async throws -> JSONValue {
        guard let row = try await database.first(
            """
            SELECT k.id, k.name, k.key_prefix, k.created_by, u.email AS created_by_email, k.allowed_models, k.allowed_providers,
                   k.rate_limits, k.expires_at, k.revoked_at, k.last_used_at, k.rotated_to, k.created_at
            FROM api_keys k LEFT JOIN users u ON u.id = k.created_by WHERE k.id = \(bind: id) AND k.org_id = \(bind: orgId)
            """
        ) else { throw Self.notFound(id) }
        return try Self.json(row)
    }

    /// Revokes the key and announces it so every instance drops its cached copy at once.
    /// Revoking an already revoked key succeeds and changes nothing. (The CLI's path: by id alone.)
    public func revoke(id: String, actor: Actor) async throws {
        try await revoke(id: id, orgId: nil, actor: actor, client: nil)
    }

    /// Revokes a key of the organisation; 404 for any other organisation's key.
    public func revoke(id: String, orgId: String?, actor: Actor, client: ClientInfo?) async throws {
        let audit = self.audit
        let hash: String = try await database.transaction { db in
            guard let row = try await db.raw("SELECT org_id, key_hash, revoked_at FROM api_keys WHERE id = \(bind: id)").first(),
                try orgId == nil || row.decode(column: "org_id", as: String.self) == orgId
            else { throw Self.notFound(id) }
            let hash = try row.decode(column: "key_hash", as: String.self)
            if try row.decodeNil(column: "revoked_at") {
                try await db.raw("UPDATE api_keys SET revoked_at = \(bind: EpochMillis.now()) WHERE id = \(bind: id)").run()
                try await audit.append(
                    .init(orgId: try row.decode(column: "org_id", as: String.self), actor: actor, action: "api_key.revoked", targetKind: "api_key", targetId: id, ip: client?.ip, userAgent: client?.userAgent),
                    on: db
                )
            }
            return hash
        }
        try await sharedState.publish(Self.invalidationChannel, hash)
    }

    /// Replaces an active key with a new one with the same name, model/provider lists and rate limits (and the same
    /// lifetime, counted from now). The old key is revoked at once and points at its successor (`rotated_to`).
    public func rotate(id: String, orgId: String, by userId: String, client: ClientInfo) async throws -> Created {
        let audit = self.audit
        let (created, oldHash): (Created, String) = try await database.transaction { db in
            guard let row = try await db.raw(
                """
                SELECT name, key_hash, allowed_models, allowed_providers, rate_limits, expires_at, created_at, revoked_at
                FROM api_keys WHERE id = \(bind: id) AND org_id = \(bind: orgId)
                """
            ).first() else { throw Self.notFound(id) }
            guard try row.decodeNil(column: "revoked_at") else {
                throw APIError.conflict("API key '\(id)' is revoked; create a new key instead", code: "api_key_revoked")
            }
            let now = EpochMillis.now()
            let lifetime = try row.decode(column: "expires_at", as: Int64?.self).map { $0 - (try row.decode(column: "created_at", as: Int64.self)) }
            let created = try await self.insertRow(
                orgId: orgId, name: try row.decode(column: "name", as: String.self), createdBy: userId, expiresAt: lifetime.map { now + max($0, 1000) },
                allowedModels: try row.decode(column: "allowed_models", as: String?.self),
                allowedProviders: try row.decode(column: "allowed_providers", as: String?.self),
                rateLimits: try row.decode(column: "rate_limits", as: String?.self), now: now, on: db
            )
            // Claimed with a condition so two concurrent rotations cannot both succeed.
            let claimed = try await db.raw(
                """
                UPDATE api_keys SET revoked_at = \(bind: now), rotated_to = \(bind: created.id)
                WHERE id = \(bind: id) AND org_id = \(bind: orgId) AND revoked_at IS NULL RETURNING id
                """
            ).all()
            guard !claimed.isEmpty else { throw APIError.conflict("API key '\(id)' was revoked meanwhile", code: "api_key_revoked") }
            try await audit.append(
                .init(orgId: orgId, actor: .user(userId), action: "api_key.rotated", targetKind: "api_key", targetId: id, ip: client.ip, userAgent: client.userAgent, details: ["rotated_to": .string(created.id)]),
                on: db
            )
            return (created, try row.decode(column: "key_hash", as: String.self))
        }
        try await sharedState.publish(Self.invalidationChannel, oldHash)
        return created
    }

    /// Revokes every active key the user created, in the caller's transaction; returns the hashes to announce
    /// (with `announce`) once it has committed.
    public func revokeAll(createdBy userId: String, reason: String, actor: Actor, client: ClientInfo?, on db: any SQLDatabase) async throws -> [String] {
        let rows = try await db.raw(
            """
            UPDATE api_keys SET revoked_at = \(bind: EpochMillis.now()) WHERE created_by = \(bind: userId) AND revoked_at IS NULL
            RETURNING id, org_id, key_hash
            """
        ).all()
        for row in rows {
            try await audit.append(
                .init(orgId: try row.decode(column: "org_id", as: String.self), actor: actor, action: "api_key.revoked", targetKind: "api_key", targetId: try row.decode(column: "id", as: String.self), ip: client?.ip, userAgent: client?.userAgent, details: ["reason": .string(reason)]),
                on: db
            )
        }
        return try rows.map { try $0.decode(column: "key_hash", as: String.self) }
    }

    /// Hashes of the organisation's live keys (for announcing a change that affects all of them, e.g. suspension).
    public func activeHashes(orgId: String, on db: any SQLDatabase) async throws -> [String] {
        try await db.raw("SELECT key_hash FROM api_keys WHERE org_id = \(bind: orgId) AND revoked_at IS NULL").all()
            .map { try $0.decode(column: "key_hash", as: String.self) }
    }

    /// Tells every instance to drop its cached copies of these keys.
    public func announce(_ hashes: [String]) async throws {
        for hash in hashes { try await sharedState.publish(Self.invalidationChannel, hash) }
    }

    static func notFound(_ id: String) -> APIError {
        .notFound("API key '\(id)' not found in this organization", code: "api_key_not_found")
    }

    static func json(_ row: any SQLRow) throws -> JSONValue {
        let expiresAt = try row.decode(column: "expires_at", as: Int64?.self)
        let revokedAt = try row.decode(column: "revoked_at", as: Int64?.self)
        let status = revokedAt != nil ? "revoked" : (expiresAt.map { $0 <= EpochMillis.now() } == true ? "expired" : "active")
        var createdBy: JSONValue = .null
        if let creator = try row.decode(column: "created_by", as: String?.self) {
            createdBy = .object(["id": .string(creator), "email": Render.string(try row.decode(column: "created_by_email", as: String?.self))])
        }
        return .object([
            "id": .string(try row.decode(column: "id", as: String.self)),
            "name": .string(try row.decode(column: "name", as: String.self)),
            "prefix": .string(try row.decode(column: "key_prefix", as: String.self)),
            "status": .string(status),
            "created_by": createdBy,
            "allowed_models": Render.stored(try row.decode(column: "allowed_models", as: String?.self)),
            "allowed_providers": Render.stored(try row.decode(column: "allowed_providers", as: String?.self)),
            "rate_limits": Render.stored(try row.decode(column: "rate_limits", as: String?.self)),
            "expires_at": Render.int(expiresAt),
            "revoked_at": Render.int(revokedAt),
            "last_used_at": Render.int(try row.decode(column: "last_used_at", as: Int64?.self)),
            "rotated_to": Render.string(try row.decode(column: "rotated_to", as: String?.self)),
            "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
        ])
    }
}

import Foundation
