import Core
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import SQLKit

/// Turns a presented API key into an identity. Lookups are cached in-process for a few seconds; revocations are
/// announced over shared state and evict at once, and the short lifetime bounds staleness even if an announcement
/// is lost (or, in single-instance mode, comes from another process such as the CLI).
public final class APIKeyAuthenticator: Service, Sendable {
    /// Three seconds keeps the five-second revocation promise with margin for request latency under load.
    public static let defaultCacheLifetime: Duration = .seconds(3)

    private struct Record: Sendable {
        let identity: APIKeyIdentity
        let revoked: Bool
        let orgActive: Bool
    }

    private struct Cached: Sendable {
        /// nil: no such key (cached too, so a flood of bad keys does not reach the database).
        let record: Record?
        let storedAt: ContinuousClock.Instant
    }

    private let database: Database
    private let keyRing: KeyRing
    private let sharedState: any SharedState
    private let lifetime: Duration
    private let maxEntries: Int
    private let cache = NIOLockedValueBox<[String: Cached]>([:])
    private let logger: Logger

    public init(
        database: Database, keyRing: KeyRing, sharedState: any SharedState, logger: Logger,
        cacheLifetime: Duration = defaultCacheLifetime, maxEntries: Int = 100_000
    ) {
        self.database = database
        self.keyRing = keyRing
        self.sharedState = sharedState
        self.lifetime = cacheLifetime
        self.maxEntries = maxEntries
        self.logger = logger
    }

    public func authenticate(_ presented: String?) async throws -> APIKeyIdentity {
        guard let presented, !presented.isEmpty else {
            throw APIError.unauthorized("missing API key; send it as 'Authorization: Bearer <key>'")
        }
        guard presented.hasPrefix(APIKeys.scheme), presented.utf8.count == APIKeys.scheme.utf8.count + APIKeys.secretLength else {
            throw APIError.unauthorized("invalid API key")
        }
        let hash = keyRing.hash(presented, purpose: .apiKeyHash)
        let record = try await lookup(hash)
        guard let record else { throw APIError.unauthorized("invalid API key") }
        if record.revoked { throw APIError.unauthorized("API key has been revoked", code: "api_key_revoked") }
        if let expiresAt = record.identity.expiresAt, expiresAt <= EpochMillis.now() {
            throw APIError.unauthorized("API key has expired", code: "api_key_expired")
        }
        if !record.orgActive { throw APIError.forbidden("the organization of this API key is suspended", code: "organization_suspended") }
        return record.identity
    }

    private func lookup(_ hash: String) async throws -> Record? {
        let now = ContinuousClock.now
        if let cached = cache.withLockedValue({ $0[hash] }), cached.storedAt.duration(to: now) < lifetime {
            return cached.record
        }
        let row = try await database.first(
            """
            SELECT k.id, k.org_id, k.name, k.allowed_models, k.expires_at, k.revoked_at, o.status AS org_status
            FROM api_keys k JOIN organizations o ON o.id = k.org_id WHERE k.key_hash = \(bind: hash)
            """
        )
        let record = try row.map(Self.record)
        let maxEntries = self.maxEntries
        let lifetime = self.lifetime
        cache.withLockedValue { cache in
            if cache.count >= maxEntries {
                cache = cache.filter { $0.value.storedAt.duration(to: now) < lifetime }
                if cache.count >= maxEntries { cache.removeAll() }
            }
            cache[hash] = Cached(record: record, storedAt: now)
        }
        return record
    }

    private static func record(_ row: any SQLRow) throws -> Record {
        var models: [String]?
        if let text = try row.decode(column: "allowed_models", as: String?.self),
            case .array(let items) = try JSONText.parse(Array(text.utf8))
        {
            models = items.compactMap(\.stringValue)
        }
        return Record(
            identity: APIKeyIdentity(
                keyId: try row.decode(column: "id", as: String.self),
                orgId: try row.decode(column: "org_id", as: String.self),
                name: try row.decode(column: "name", as: String.self),
                allowedModels: models,
                expiresAt: try row.decode(column: "expires_at", as: Int64?.self)
            ),
            revoked: try !row.decodeNil(column: "revoked_at"),
            orgActive: try row.decode(column: "org_status", as: String.self) == "active"
        )
    }

    /// Listens for revocations until shutdown; a `.reset` (missed messages) empties the cache.
    public func run() async throws {
        let events = try await sharedState.subscribe(APIKeys.invalidationChannel)
        await withGracefulShutdownHandler {
            for await event in events.cancelOnGracefulShutdown() {
                switch event {
                case .message(let hash): cache.withLockedValue { _ = $0.removeValue(forKey: hash) }
                case .reset:
                    logger.info("shared state reconnected; dropping cached API keys")
                    cache.withLockedValue { $0.removeAll() }
                }
            }
        } onGracefulShutdown: {}
    }
}
