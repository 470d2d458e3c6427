import Core
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import SQLKit

/// Turns a presented API key into an identity. Lookups are cached in-process for a few seconds; revocations are
/// announced over shared state and evict at once, and the short lifetime bounds staleness even if an announcement
/// is lost (or, in single-instance mode, comes from another process such as the CLI).
///
/// Use is tracked without a database write per request: each accepted key's latest use is kept in memory and
/// `run()` writes them in batches (`flushUsage`) every `usageFlushInterval` and once more at graceful shutdown,
/// only ever moving `last_used_at` forward. A crash loses at most one interval of `last_used_at` updates.
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
    /// Key id → latest accepted use (epoch ms) not yet written.
    private let usage = NIOLockedValueBox<[String: Int64]>([:])
    private let usageFlushInterval: Duration
    private let logger: Logger

    public init(
        database: Database, keyRing: KeyRing, sharedState: any SharedState, logger: Logger,
        cacheLifetime: Duration = defaultCacheLifetime, maxEntries: Int = 100_000, usageFlushInterval: Duration = .seconds(30)
    ) {
        self.usageFlushInterval = usageFlushInterval
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
        let now = EpochMillis.now()
        usage.withLockedValue { $0[record.identity.keyId] = max($0[record.identity.keyId] ?? 0, now) }
        return record.identity
    }

    /// Writes the recorded uses in batched statements; on failure they are kept for the next attempt.
    public func flushUsage() async {
        let pending = usage.withLockedValue { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !pending.isEmpty else { return }
        let entries = Array(pending)
        do {
            try await database.transaction { db in
                for start in stride(from: 0, to: entries.count, by: 200) {
                    let chunk = entries[start..<min(start + 200, entries.count)]
                    var value: SQLQueryString = "CASE id"
                    for (id, at) in chunk { value += " WHEN \(bind: id) THEN \(bind: at)" }
                    value += " END"
                    let ids = chunk.map { (id, _) -> SQLQueryString in "\(bind: id)" }.joined(separator: ", ")
                    try await db.raw(
                        "UPDATE api_keys SET last_used_at = " + value + " WHERE id IN (" + ids + ") AND (last_used_at IS NULL OR last_used_at < "
                            + value + ")"
                    ).run()
                }
            }
        } catch {
            logger.warning("could not record API key use; will retry", metadata: ["error": .string(String(describing: error))])
            usage.withLockedValue { current in
                for (id, at) in pending { current[id] = max(current[id] ?? 0, at) }
            }
        }
    }

    private func lookup(_ hash: String) async throws -> Record? {
        let now = ContinuousClock.now
        if let cached = cache.withLockedValue({ $0[hash] }), cached.storedAt.duration(to: now) < lifetime {
            return cached.record
        }
        let row = try await database.first(
            """
            SELECT k.id, k.org_id, k.name, k.allowed_models, k.allowed_providers, k.rate_limits, k.expires_at, k.revoked_at, o.status AS org_status
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
        func list(_ column: String) throws -> [String]? {
            guard let text = try row.decode(column: column, as: String?.self), case .array(let items) = try JSONText.parse(Array(text.utf8)) else {
                return nil
            }
            return items.compactMap(\.stringValue)
        }
        return Record(
            identity: APIKeyIdentity(
                keyId: try row.decode(column: "id", as: String.self),
                orgId: try row.decode(column: "org_id", as: String.self),
                name: try row.decode(column: "name", as: String.self),
                allowedModels: try list("allowed_models"),
                allowedProviders: try list("allowed_providers"),
                limits: try row.decode(column: "rate_limits", as: String?.self)
                    .flatMap { try? JSONText.parse(Array($0.utf8)) }.map(UsageLimits.init(stored:)),
                expiresAt: try row.decode(column: "expires_at", as: Int64?.self)
            ),
            revoked: try !row.decodeNil(column: "revoked_at"),
            orgActive: try row.decode(column: "org_status", as: String.self) == "active"
        )
    }

    /// Until shutdown: listens for revocations (a `.reset`, i.e. missed messages, empties the cache) and flushes
    /// recorded key use every `usageFlushInterval`; flushes once more on the way out. In the service group this
    /// service stops after the HTTP server, so uses by requests drained during shutdown are written too.
    public func run() async throws {
        let events = try await sharedState.subscribe(APIKeys.invalidationChannel)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events.cancelOnGracefulShutdown() {
                    switch event {
                    case .message(let hash): self.cache.withLockedValue { _ = $0.removeValue(forKey: hash) }
                    case .reset:
                        self.logger.info("shared state reconnected; dropping cached API keys")
                        self.cache.withLockedValue { $0.removeAll() }
                    }
                }
            }
            group.addTask {
                let interval = self.usageFlushInterval
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    } catch {
                        break
                    }
                    await self.flushUsage()
                }
            }
        }
        await flushUsage()
    }
}
