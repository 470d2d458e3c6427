import Core
import HTTPTypes
import SQLKit
import Tenancy

/// Holds reserve the most a request can cost before it goes upstream, so concurrent requests cannot spend more
/// than the balance; settlement charges the real cost exactly once and releases the hold. Holds expire, so a
/// crashed instance cannot freeze a balance; a settlement after expiry still charges (once).
public struct CreditHolds: Sendable {
    public enum Status: String, Sendable { case open, settled, expired }

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

    public init(database: Database) {
        self.database = database
        self.batcher = LedgerBatcher(database: database)
    }

    /// Reserves `amount` for the request. With `enforce`, 402 when the available balance cannot cover it.
    /// `requestId` is the server's billing id for the request (idempotency keys derive from it); `clientRequestId`
    /// is the request id the client saw, recorded for reference. Concurrent calls share transactions (`LedgerBatcher`).
    public func place(
        orgId: String, requestId: String, clientRequestId: String? = nil, apiKeyId: String?, amount: Int64, lifetime: Duration, enforce: Bool
    ) async throws {
        _ = try await batcher.submit(.hold(.init(
            orgId: orgId, requestId: requestId, clientRequestId: clientRequestId, apiKeyId: apiKeyId, amount: amount, lifetime: lifetime,
            enforce: enforce
        )))
    }

    /// Charges the request once (a replay changes nothing) and releases its hold if it is still open; true when
    /// this call charged.
    @discardableResult
    public func settle(orgId: String, requestId: String, clientRequestId: String? = nil, _ settlement: Settlement) async throws -> Bool {
        try await batcher.submit(.settle(.init(orgId: orgId, requestId: requestId, clientRequestId: clientRequestId, settlement: settlement)))
    }

    /// Inserts the hold and posts it; returns the account afterwards (the caller stores it).
    static func open(_ hold: LedgerBatcher.Hold, ledger: CreditLedger, on db: any SQLDatabase, locked: CreditLedger.Balance) async throws
        -> CreditLedger.Balance
    {
        let now = EpochMillis.now()
        try await db.raw(
            """
            INSERT INTO credit_holds (request_id, org_id, api_key_id, amount, status, created_at, expires_at)
            VALUES (\(bind: hold.requestId), \(bind: hold.orgId), \(bind: hold.apiKeyId), \(bind: hold.amount), 'open', \(bind: now),
                \(bind: now + hold.lifetime.milliseconds))
            """
        ).run()
        var posting = Posting(
            orgId: hold.orgId, kind: .hold, amount: 0, holdAmount: hold.amount, idempotencyKey: "hold:\(hold.requestId)", actor: .system
        )
        posting.requestId = hold.clientRequestId ?? hold.requestId
        posting.apiKeyId = hold.apiKeyId
        return try await ledger.append(posting, on: db, locked: locked).balance
    }

    /// Releases the hold and posts the charge (once); returns whether it charged and the account afterwards.
    static func settle(_ settle: LedgerBatcher.Settle, ledger: CreditLedger, on db: any SQLDatabase, locked: CreditLedger.Balance) async throws
        -> (charged: Bool, balance: CreditLedger.Balance)
    {
        let released = try await release(
            orgId: settle.orgId, requestId: settle.requestId, clientRequestId: settle.clientRequestId, to: .settled, ledger: ledger, on: db,
            locked: locked
        )
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

    /// Releases holds whose lifetime ended (crashed or stuck requests). Returns how many were released.
    public func expireOverdue(now: Int64 = EpochMillis.now(), limit: Int = 500) async throws -> Int {
        let overdue = try await database.query(
            "SELECT request_id, org_id FROM credit_holds WHERE status = 'open' AND expires_at <= \(bind: now) LIMIT \(bind: limit)"
        )
        let ledger = self.ledger
        var released = 0
        for row in overdue {
            let requestId = try row.decode(column: "request_id", as: String.self)
            let orgId = try row.decode(column: "org_id", as: String.self)
            let done = try await database.transaction { db in
                let account = try await ledger.lock(orgId: orgId, on: db)
                let released = try await Self.release(orgId: orgId, requestId: requestId, to: .expired, ledger: ledger, on: db, locked: account)
                if released.balance != account { try await ledger.store(released.balance, orgId: orgId, on: db) }
                return released.released
            }
            if done { released += 1 }
        }
        return released
    }

    /// Closes an open hold and appends its release (`released` false when there was no open hold), with the account
    /// as it stands afterwards (the caller stores it). `locked`: the account as the caller's transaction saw it last.
    private static func release(
        orgId: String, requestId: String, clientRequestId: String? = nil, to status: Status, ledger: CreditLedger, on db: any SQLDatabase,
        locked: CreditLedger.Balance
    ) async throws -> (released: Bool, balance: CreditLedger.Balance) {
        guard let row = try await db.raw(
            """
            UPDATE credit_holds SET status = \(bind: status.rawValue), closed_at = \(bind: EpochMillis.now())
            WHERE request_id = \(bind: requestId) AND org_id = \(bind: orgId) AND status = 'open' RETURNING amount, api_key_id
            """
        ).first() else { return (false, locked) }
        var posting = Posting(
            orgId: orgId, kind: .release, amount: 0, holdAmount: -(try row.decode(column: "amount", as: Int64.self)),
            idempotencyKey: "release:\(requestId)", actor: .system, reason: status == .expired ? "hold expired" : nil
        )
        posting.requestId = clientRequestId ?? requestId
        posting.apiKeyId = try row.decode(column: "api_key_id", as: String?.self)
        return (true, try await ledger.append(posting, on: db, locked: locked).balance)
    }

    static func insufficient(needed: Int64, available: Int64) -> APIError {
        APIError(
            HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), .insufficientQuota,
            "insufficient credits: this request may cost up to \(Credits(micros: needed)) credits and \(Credits(micros: max(0, available))) are available; top up or lower max_tokens",
            code: "insufficient_quota"
        )
    }
}
