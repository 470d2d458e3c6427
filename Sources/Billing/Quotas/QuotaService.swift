import Core
import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import SQLKit
import Tenancy

/// Per-organisation and per-key limits, held across instances in shared state: requests and tokens per minute
/// (fixed one-minute windows), concurrent requests (a bounded counter), and a monthly spend budget (a counter
/// seeded from the ledger). `admit` runs before a request goes upstream; `release` after it settled.
public final class QuotaService: Sendable {
    public static let invalidationChannel = "invalidate:limits"

    /// One limited party: the organisation or the key.
    struct Scope: Sendable {
        let kind: String
        let id: String
        let orgId: String
        let limits: UsageLimits

        var name: String { kind == "org" ? "organization" : "API key" }
    }

    /// What an admitted request carries until it ends.
    public struct Admission: Sendable {
        public let headers: RateLimitHeaders
        let scopes: [Scope]
        let concurrencyKeys: [String]

        static let unlimited = Admission(headers: RateLimitHeaders(), scopes: [], concurrencyKeys: [])
    }

    private struct CachedLimits: Sendable {
        let limits: UsageLimits?
        let at: ContinuousClock.Instant
    }

    private let database: Database
    private let sharedState: any SharedState
    private let enforceBudgets: Bool
    private let logger: Logger
    private let cache = NIOLockedValueBox<[String: CachedLimits]>([:])
    private let cacheLifetime: Duration = .seconds(5)
    /// Concurrency counters expire if an instance dies holding slots; each new request refreshes the lifetime.
    private let slotLifetime: Duration = .seconds(900)

    public init(database: Database, sharedState: any SharedState, enforceBudgets: Bool, logger: Logger) {
        self.database = database
        self.sharedState = sharedState
        self.enforceBudgets = enforceBudgets
        self.logger = logger
    }

    // MARK: Admission

    public func admit(_ identity: APIKeyIdentity, now: Date = Date()) async throws -> Admission {
        var scopes: [Scope] = []
        if let org = try await organizationLimits(orgId: identity.orgId), !org.isEmpty {
            scopes.append(Scope(kind: "org", id: identity.orgId, orgId: identity.orgId, limits: org))
        }
        if let key = identity.limits, !key.isEmpty {
            scopes.append(Scope(kind: "key", id: identity.keyId, orgId: identity.orgId, limits: key))
        }
        guard !scopes.isEmpty else { return .unlimited }
        let millis = Int64(now.timeIntervalSince1970 * 1000)
        let minute = millis / 60_000
        let resetSeconds = Int(60 - (millis % 60_000) / 1000)
        var headers = RateLimitHeaders()
        var acquired: [String] = []
        do {
            for scope in scopes {
                try await checkBudget(scope, now: now)
                if let limit = scope.limits.requestsPerMinute {
                    let counted = try await sharedState.incrementIfWithin(
                        "rl:rpm:\(scope.kind):\(scope.id):\(minute)", by: 1, limit: limit, ttl: .seconds(70)
                    )
                    guard counted.applied else {
                        throw Self.tooMany("request rate limit of \(limit) per minute for this \(scope.name) reached", retryAfter: resetSeconds)
                    }
                    headers.offer(requests: .init(limit: limit, remaining: limit - counted.value, resetSeconds: resetSeconds))
                }
                if let limit = scope.limits.tokensPerMinute {
                    let used = Int(try await sharedState.get("rl:tpm:\(scope.kind):\(scope.id):\(minute)") ?? "0") ?? 0
                    guard used < limit else {
                        throw Self.tooMany("token rate limit of \(limit) per minute for this \(scope.name) reached", retryAfter: resetSeconds)
                    }
                    headers.offer(tokens: .init(limit: limit, remaining: limit - used, resetSeconds: resetSeconds))
                }
                if let limit = scope.limits.concurrentRequests {
                    let key = "rl:conc:\(scope.kind):\(scope.id)"
                    let slot = try await sharedState.incrementIfWithin(key, by: 1, limit: limit, ttl: slotLifetime)
                    guard slot.applied else {
                        throw Self.tooMany("\(limit) concurrent requests for this \(scope.name) are already running", retryAfter: 1)
                    }
                    acquired.append(key)
                }
            }
        } catch {
            await releaseSlots(acquired)
            throw error
        }
        return Admission(headers: headers, scopes: scopes, concurrencyKeys: acquired)
    }

    /// Frees the concurrency slots and counts the request's tokens and spend. Never throws.
    public func release(_ admission: Admission, tokens: Int64, cost: Int64, now: Date = Date()) async {
        await releaseSlots(admission.concurrencyKeys)
        let minute = Int64(now.timeIntervalSince1970 * 1000) / 60_000
        for scope in admission.scopes {
            do {
                if scope.limits.tokensPerMinute != nil, tokens > 0 {
                    _ = try await sharedState.increment("rl:tpm:\(scope.kind):\(scope.id):\(minute)", by: Int(tokens), ttl: .seconds(70))
                }
                if let budget = scope.limits.monthlyBudget, cost > 0 {
                    let spent = try await addSpend(scope, cost: cost, now: now)
                    try await notifyThresholds(scope, budget: budget, spent: spent, now: now)
                }
            } catch {
                logger.warning("quota accounting failed", metadata: ["scope": .string(scope.kind), "error": "\(error)"])
            }
        }
    }

    private func releaseSlots(_ keys: [String]) async {
        for key in keys {
            do { _ = try await sharedState.incrementIfWithin(key, by: -1, limit: .max, ttl: slotLifetime) } catch {
                logger.warning("could not release a concurrency slot; it frees itself when the counter expires", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Budgets

    private func checkBudget(_ scope: Scope, now: Date) async throws {
        guard let budget = scope.limits.monthlyBudget, scope.limits.budgetIsHard, enforceBudgets else { return }
        let spent = try await monthSpend(scope, now: now)
        guard spent < budget else {
            throw APIError(
                HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), .insufficientQuota,
                "the monthly budget of \(Credits(micros: budget)) credits for this \(scope.name) is used up (\(Credits(micros: spent)) spent); it renews on the 1st (UTC)",
                code: "budget_exceeded"
            )
        }
    }

    private func spendKey(_ scope: Scope, now: Date) -> String { "spend:\(scope.kind):\(scope.id):\(Self.month(now))" }

    /// This month's spend, seeded from the ledger when shared state does not know it (first use, Redis restart).
    func monthSpend(_ scope: Scope, now: Date) async throws -> Int64 {
        let key = spendKey(scope, now: now)
        if let text = try await sharedState.get(key), let value = Int64(text) { return value }
        let start = Self.monthStart(now)
        var sql = SQLQueryString(
            "SELECT CAST(COALESCE(-SUM(amount), 0) AS BIGINT) AS spent FROM ledger_entries WHERE org_id = \(bind: scope.orgId) AND kind = 'charge' AND created_at >= \(bind: start)"
        )
        if scope.kind == "key" {
            sql.appendInterpolation(unsafeRaw: " AND api_key_id = ")
            sql.appendInterpolation(bind: scope.id)
        }
        let spent = try await database.first(sql)?.decode(column: "spent", as: Int64.self) ?? 0
        _ = try await sharedState.setIfAbsent(key, String(spent), ttl: .seconds(35 * 86_400))
        return Int64(try await sharedState.get(key) ?? String(spent)) ?? spent
    }

    private func addSpend(_ scope: Scope, cost: Int64, now: Date) async throws -> Int64 {
        _ = try await monthSpend(scope, now: now)
        return Int64(try await sharedState.increment(spendKey(scope, now: now), by: Int(cost), ttl: .seconds(35 * 86_400)))
    }

    /// Tells the organisation's owners once per month when 80 % and 100 % of a budget are spent.
    private func notifyThresholds(_ scope: Scope, budget: Int64, spent: Int64, now: Date) async throws {
        for percent in [80, 100] where spent * 100 >= budget * Int64(percent) {
            guard try await sharedState.setIfAbsent("budget-notified:\(scope.kind):\(scope.id):\(Self.month(now)):\(percent)", "1", ttl: .seconds(35 * 86_400)) else { continue }
            let message = "\(percent) % of the monthly budget of \(Credits(micros: budget)) credits for this \(scope.name) is spent"
            try await database.transaction { db in
                let owners = try await db.raw("SELECT user_id FROM memberships WHERE org_id = \(bind: scope.orgId) AND role = 'owner'").all()
                for owner in owners {
                    try await Notifications().notify(
                        userId: try owner.decode(column: "user_id", as: String.self), orgId: scope.orgId, kind: "billing.budget_\(percent)",
                        message: message, details: ["scope": .string(scope.kind), "id": .string(scope.id)], on: db
                    )
                }
                try await AuditLog().append(
                    .init(orgId: scope.orgId, actor: .system, action: "billing.budget_\(percent)", targetKind: scope.kind == "org" ? "organization" : "api_key",
                          targetId: scope.id, details: ["budget": .string(Credits(micros: budget).description), "spent": .string(Credits(micros: spent).description)]),
                    on: db
                )
            }
        }
    }

    // MARK: Organisation limits

    public func organizationLimits(orgId: String) async throws -> UsageLimits? {
        if let cached = cache.withLockedValue({ $0[orgId] }), cached.at.duration(to: .now) < cacheLifetime { return cached.limits }
        let row = try await database.first("SELECT limits FROM organization_limits WHERE org_id = \(bind: orgId)")
        var limits: UsageLimits?
        if let text = try row?.decode(column: "limits", as: String.self), let stored = try? JSONText.parse(Array(text.utf8)) {
            limits = UsageLimits(stored: stored)
        }
        cache.withLockedValue { $0[orgId] = CachedLimits(limits: limits, at: .now) }
        return limits
    }

    public func setOrganizationLimits(orgId: String, _ limits: UsageLimits, actor: Tenancy.Actor, client: ClientInfo) async throws {
        try await database.transaction { db in
            try await db.raw("DELETE FROM organization_limits WHERE org_id = \(bind: orgId)").run()
            if !limits.isEmpty {
                try await db.raw(
                    """
                    INSERT INTO organization_limits (org_id, limits, updated_by, updated_at)
                    VALUES (\(bind: orgId), \(bind: JSONText.render(limits.json)), \(bind: actor.id), \(bind: EpochMillis.now()))
                    """
                ).run()
            }
            try await AuditLog().append(
                .init(orgId: orgId, actor: actor, action: "billing.limits_changed", targetKind: "organization", targetId: orgId,
                      ip: client.ip, userAgent: client.userAgent, details: ["limits": limits.json]),
                on: db
            )
        }
        cache.withLockedValue { _ = $0.removeValue(forKey: orgId) }
        try await sharedState.publish(Self.invalidationChannel, orgId)
    }

    /// Drops cached limits when another instance changed them.
    public func forget(orgId: String) {
        cache.withLockedValue { _ = $0.removeValue(forKey: orgId) }
    }

    // MARK: Helpers

    static func tooMany(_ message: String, retryAfter: Int) -> APIError {
        var error = APIError(.tooManyRequests, .rateLimited, message + "; retry after \(retryAfter) s", code: "rate_limit_exceeded")
        error.headers[.retryAfter] = String(max(1, retryAfter))
        return error
    }

    static func month(_ date: Date) -> String {
        let parts = utc.dateComponents([.year, .month], from: date)
        return String(format: "%04d%02d", parts.year ?? 0, parts.month ?? 0)
    }

    static func monthStart(_ date: Date) -> Int64 {
        let start = utc.date(from: utc.dateComponents([.year, .month], from: date)) ?? date
        return Int64(start.timeIntervalSince1970 * 1000)
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
