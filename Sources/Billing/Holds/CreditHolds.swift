import Core
import HTTPTypes
import SQLKit
import Tenancy

/// Holds reserve the most a request can cost before it goes upstream, so concurrent requests cannot spend more
/// than the balance; settlement charges the real cost exactly once and releases the hold. Holds expire, so a
/// crashed instance cannot freeze a balance; a settlement after expiry still charges (once).
///
/// Where they live: with several instances (shared state in Redis) in `credit_holds`, where every instance sees
/// them; with one instance in memory (`HoldBook`), so placing a hold costs no database transaction. The
/// ledger is the same either way.
public struct CreditHolds: Sendable {
    /// What a request is charged when it ends.
    public struct Settlement: Sendable {
        public var cost: Int64
        public var usage: MeteredUsage?
        public var providerId: String?
        public var model: String?
        public var apiKeyId: String?
        public var reason: String

        public init(cost: Int64, usage: MeteredUsage?, providerId: String?, model: String?, apiKeyId: String?, reason: String) {
            self.cost = cost
            self.usage = usage
            self.providerId = providerId
            self.model = model
            self.apiKeyId = apiKeyId
            self.reason = reason
        }
    }

    private let database: Database
    private let ledger = CreditLedger()
    private let batcher: LedgerBatcher
    /// Set when holds are kept in memory (one instance).
    private let book: HoldBook?

    /// `inMemory`: only for a single instance, whose process places every hold on the balance. `balanceFreshness`:
    /// how long such holds trust the balance they last read (what they learn from their own commits they know at once).
    public init(database: Database, inMemory: Bool = false, balanceFreshness: Duration = .seconds(1)) {
        self.database = database
        let book = inMemory ? HoldBook(database: database, freshness: balanceFreshness) : nil
        self.book = book
        var committed: (@Sendable ([String: CreditLedger.Balance]) -> Void)?
        if let book { committed = { book.committed($0) } }
        self.batcher = LedgerBatcher(database: database, committed: committed)
    }

    /// Reserves `amount` for the request. With `enforce`, 402 when the available balance cannot cover it.
    /// `requestId` is the server's billing id for the request (idempotency keys derive from it); `clientRequestId`
    /// is the request id the client saw, recorded for reference. Concurrent calls share transactions (`LedgerBatcher`).
    public func place(
        orgId: String, requestId: String, clientRequestId: String? = nil, apiKeyId: String?, amount: Int64, lifetime: Duration, enforce: Bool
    ) async throws {
        let hold = LedgerBatcher.Hold(
            orgId: orgId, requestId: requestId, clientRequestId: clientRequestId, apiKeyId: apiKeyId, amount: amount, lifetime: lifetime,
            enforce: enforce
        )
        if let book {
            try await book.place(hold)
        } else {
            _ = try await batcher.submit(.hold(hold))
        }
    }

    /// Charges the request once (a replay changes nothing) and releases its hold if it is still open; true when
    /// this call charged.
    @discardableResult
    public func settle(orgId: String, requestId: String, clientRequestId: String? = nil, _ settlement: Settlement) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            settleLater(orgId: orgId, requestId: requestId, clientRequestId: clientRequestId, settlement) { continuation.resume(with: $0) }
        }
    }

    /// `settle` without waiting: the settlement joins the next transaction and `completion` learns whether it
    /// charged. Readers of balances and the ledger call `settled()` first, so they never miss it.
    ///
    /// A hold in memory is released once the charge has committed (so the credits are never available twice);
    /// with nothing to charge it is released at once and nothing is written.
    public func settleLater(
        orgId: String, requestId: String, clientRequestId: String? = nil, _ settlement: Settlement,
        completion: @escaping @Sendable (Result<Bool, any Error>) -> Void
    ) {
        var settle = LedgerBatcher.Settle(orgId: orgId, requestId: requestId, clientRequestId: clientRequestId, settlement: settlement)
        guard let book else {
            batcher.enqueue(.settle(settle), completion: completion)
            return
        }
        guard settlement.cost > 0 else {
            book.release(requestId: requestId)
            completion(.success(false))
            return
        }
        settle.releasesRow = false
        batcher.enqueue(.settle(settle)) { outcome in
            // After a failure the hold stays until it expires, as a database hold would.
            if case .success = outcome { book.release(requestId: requestId) }
            completion(outcome)
        }
    }

    /// The organisation's account, counting holds kept in memory. Call `settled()` first to include queued charges.
    public func balance(orgId: String) async throws -> CreditLedger.Balance {
        let stored = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
        guard let book else { return stored }
        return CreditLedger.Balance(balance: stored.balance, held: stored.held + book.held(orgId: orgId))
    }

    /// Another posting (a grant, top-up, refund or adjustment) changed the account: holds read it again.
    public func balanceChanged(orgId: String) {
        book?.invalidate(orgId: orgId)
    }

    /// Returns once every hold and settlement queued before this call is committed (or has failed).
    public func settled() async {
        await batcher.applied()
    }

    /// Inserts the hold; returns the account with it held (the caller stores it). Holds are not ledger entries:
    /// they move no money, and writing two entries per request tripled the ledger and its write cost.
    static func open(_ hold: LedgerBatcher.Hold, on db: any SQLDatabase, locked: CreditLedger.Balance) async throws -> CreditLedger.Balance {
        let now = EpochMillis.now()
        try await db.run(insertHold, [
            .text(hold.requestId), .text(hold.orgId), .text(hold.apiKeyId), .integer(hold.amount), .integer(now),
            .integer(now + hold.lifetime.milliseconds),
        ])
        return CreditLedger.Balance(balance: locked.balance, held: locked.held + hold.amount)
    }

    private static let insertHold = FixedStatement(
        "INSERT INTO credit_holds (request_id, org_id, api_key_id, amount, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"
    )

    /// Releases the hold and posts the charge (once); returns whether it charged and the account afterwards.
    static func settle(_ settle: LedgerBatcher.Settle, ledger: CreditLedger, on db: any SQLDatabase, locked: CreditLedger.Balance) async throws
        -> (charged: Bool, balance: CreditLedger.Balance)
    {
        let released = settle.releasesRow
            ? try await release(orgId: settle.orgId, requestId: settle.requestId, on: db, locked: locked)
            : (released: false, apiKeyId: nil, balance: locked)
        let settlement = settle.settlement
        guard settlement.cost > 0 else { return (false, released.balance) }
        var charge = Posting(
            orgId: settle.orgId, kind: .charge, amount: -settlement.cost, idempotencyKey: "charge:\(settle.requestId)", actor: .system,
            reason: settlement.reason
        )
        charge.requestId = settle.clientRequestId ?? settle.requestId
        charge.providerId = settlement.providerId
        charge.model = settlement.model
        charge.apiKeyId = settlement.apiKeyId
        charge.usage = settlement.usage
        let posted = try await ledger.append(charge, on: db, locked: released.balance)
        return (posted.applied, posted.balance)
    }

    /// Releases holds whose lifetime ended (crashed or stuck requests), each with a zero-amount `release` ledger
    /// entry (reason "hold expired") so the organisation can see it. Returns how many were released.
    public func expireOverdue(now: Int64 = EpochMillis.now(), limit: Int = 500) async throws -> Int {
        var released = 0
        for (requestId, hold) in book?.expire(now: now, limit: limit) ?? [] {
            try await recordExpiry(orgId: hold.orgId, requestId: requestId, apiKeyId: hold.apiKeyId)
            released += 1
        }
        let overdue = try await database.query(
            "SELECT request_id, org_id FROM credit_holds WHERE expires_at <= \(bind: now) ORDER BY expires_at LIMIT \(bind: limit)"
        )
        let ledger = self.ledger
        for row in overdue {
            let requestId = try row.decode(column: "request_id", as: String.self)
            let orgId = try row.decode(column: "org_id", as: String.self)
            let done = try await database.transaction { db in
                let account = try await ledger.lock(orgId: orgId, on: db)
                let release = try await Self.release(orgId: orgId, requestId: requestId, on: db, locked: account)
                guard release.released else { return false }
                let posting = Self.expiry(orgId: orgId, requestId: requestId, apiKeyId: release.apiKeyId)
                let posted = try await ledger.append(posting, on: db, locked: release.balance)
                try await ledger.store(posted.balance, orgId: orgId, on: db)
                return true
            }
            if done { released += 1 }
        }
        return released
    }

    /// The zero-amount `release` entry of a hold that expired in memory (its account holds nothing in the database).
    private func recordExpiry(orgId: String, requestId: String, apiKeyId: String?) async throws {
        let ledger = self.ledger
        try await database.transaction { db in
            let account = try await ledger.lock(orgId: orgId, on: db)
            _ = try await ledger.append(Self.expiry(orgId: orgId, requestId: requestId, apiKeyId: apiKeyId), on: db, locked: account)
        }
    }

    /// The zero-amount `release` entry an expired hold leaves, wherever it was kept.
    private static func expiry(orgId: String, requestId: String, apiKeyId: String?) -> Posting {
        var posting = Posting(orgId: orgId, kind: .release, amount: 0, idempotencyKey: "release:\(requestId)", actor: .system, reason: "hold expired")
        posting.requestId = requestId
        posting.apiKeyId = apiKeyId
        return posting
    }

    /// Deletes the request's hold if it is still open (`released` false when it was already settled or expired)
    /// and returns the account without it (the caller stores it). `locked`: the account as the caller's
    /// transaction saw it last.
    private static func release(orgId: String, requestId: String, on db: any SQLDatabase, locked: CreditLedger.Balance) async throws
        -> (released: Bool, apiKeyId: String?, balance: CreditLedger.Balance)
    {
        guard let row = try await db.first(deleteHold, [.text(requestId), .text(orgId)]) else { return (false, nil, locked) }
        let amount = try row.int64(0)
        let apiKeyId = try row.optionalString(1)
        return (true, apiKeyId, CreditLedger.Balance(balance: locked.balance, held: locked.held - amount))
    }

    private static let deleteHold = FixedStatement("DELETE FROM credit_holds WHERE request_id = ? AND org_id = ? RETURNING amount, api_key_id")

    static func insufficient(needed: Int64, available: Int64) -> APIError {
        APIError(
            HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), .insufficientQuota,
            "insufficient credits: this request may cost up to \(Credits(micros: needed)) credits and \(Credits(micros: max(0, available))) are available; top up or lower max_tokens",
            code: "insufficient_quota"
        )
    }
}
