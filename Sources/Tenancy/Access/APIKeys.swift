import Core
import SQLKit

/// API keys: `ahg-` followed by 48 random base62 characters. Only an HMAC-SHA-256 of the key is stored, plus a
/// visible prefix (`ahg-` and the next 8 characters) so people can tell their keys apart.
public struct APIKeys: Sendable {
    public struct Created: Sendable {
        public let id: String
        public let key: String
        public let prefix: String
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

    public func create(
        orgSlug: String, name: String, expiresInSeconds: Int64?, allowedModels: [String]?, createdBy: String?, actor: Actor
    ) async throws -> Created {
        try InputRules.validateName(name, field: "name")
        if let models = allowedModels, models.isEmpty || models.contains(where: { $0.isEmpty }) {
            throw APIError.badRequest("models must be a non-empty list of model names", param: "models")
        }
        let key = Self.scheme + RandomToken.base62(length: Self.secretLength)
        let created = Created(id: Identifier.make(), key: key, prefix: String(key.prefix(Self.prefixLength)))
        let hash = keyRing.hash(key, purpose: .apiKeyHash)
        let now = EpochMillis.now()
        let expiresAt = expiresInSeconds.map { now + $0 * 1000 }
        let models = allowedModels.map { JSONText.render(.array($0.map(JSONValue.string))) }
        let audit = self.audit
        try await database.transaction { db in
            guard let org = try await Directory().organization(slug: orgSlug, on: db) else {
                throw APIError.notFound("organization '\(orgSlug)' does not exist", code: "organization_not_found")
            }
            try await db.raw(
                """
                INSERT INTO api_keys (id, org_id, created_by, name, key_prefix, key_hash, allowed_models, expires_at, created_at)
                VALUES (\(bind: created.id), \(bind: org.id), \(bind: createdBy), \(bind: name), \(bind: created.prefix),
                        \(bind: hash), \(bind: models), \(bind: expiresAt), \(bind: now))
                """
            ).run()
            try await audit.append(
                .init(orgId: org.id, actor: actor, action: "api_key.created", targetKind: "api_key", targetId: created.id, details: ["name": .string(name)]),
                on: db
            )
        }
        return created
    }

    /// Revokes the key and announces it so every instance drops its cached copy at once.
    /// Revoking an already revoked key succeeds and changes nothing.
    public func revoke(id: String, actor: Actor) async throws {
        let audit = self.audit
        let hash: String = try await database.transaction { db in
            guard let row = try await db.raw("SELECT org_id, key_hash, revoked_at FROM api_keys WHERE id = \(bind: id)").first() else {
                throw APIError.notFound("API key '\(id)' does not exist", code: "api_key_not_found")
            }
            let hash = try row.decode(column: "key_hash", as: String.self)
            if try row.decodeNil(column: "revoked_at") {
                try await db.raw("UPDATE api_keys SET revoked_at = \(bind: EpochMillis.now()) WHERE id = \(bind: id)").run()
                try await audit.append(
                    .init(orgId: try row.decode(column: "org_id", as: String.self), actor: actor, action: "api_key.revoked", targetKind: "api_key", targetId: id),
                    on: db
                )
            }
            return hash
        }
        try await sharedState.publish(Self.invalidationChannel, hash)
    }
}
