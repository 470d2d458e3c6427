import Core
import SQLKit
import Tenancy

/// The organisation's credit account and its append-only ledger. Every posting locks the account row first
/// (PostgreSQL row lock; SQLite's write lock), so postings for one organisation are serialised and the
/// idempotency check cannot race.
public struct CreditLedger: Sendable {
    public struct Balance: Sendable, Equatable {
        public let balance: Int64
        public let held: Int64
        public var available: Int64 { balance - held }
    }

    public struct Posted: Sendable, Equatable {
        public let entryId: String
        /// False when the idempotency key had been posted before (nothing changed).
        public let applied: Bool
        public let balance: Balance
    }

    public init() {}

    /// Locks (creating if needed) the organisation's account and returns its current figures: one statement (an
    /// upsert takes the row lock on PostgreSQL; SQLite holds its write lock for the whole transaction).
    public func lock(orgId: String, on db: any SQLDatabase) async throws -> Balance {
        let now = EpochMillis.now()
        guard let row = try await db.first(Self.lockAccount, [.text(orgId), .integer(now), .integer(now)]) else {
            throw APIError.notFound("organization not found", code: "organization_not_found")
        }
        return Balance(balance: try row.int64(0), held: try row.int64(1))
    }

    /// Locks the account row (RETURNING balance, held).
    private static let lockAccount = FixedStatement(
        """
        INSERT INTO credit_accounts (org_id, balance, held, created_at, updated_at) VALUES (?, 0, 0, ?, ?)
        ON CONFLICT (org_id) DO UPDATE SET updated_at = excluded.updated_at RETURNING balance, held
        """
    )

    /// Appends the posting unless its idempotency key exists and writes the account; call inside a transaction.
    /// `locked`: the account as this transaction last saw it (from `lock` or a previous posting), which saves
    /// locking it again.
    public func post(_ posting: Posting, on db: any SQLDatabase, locked: Balance? = nil) async throws -> Posted {
        let posted = try await append(posting, on: db, locked: locked)
        if posted.applied { try await store(posted.balance, orgId: posting.orgId, on: db) }
        return posted
    }

    /// Inserts the entry unless its idempotency key exists, and returns the account as it stands after it; the
    /// caller writes the account with `store` (once, after several postings). Call inside a transaction.
    func append(_ posting: Posting, on db: any SQLDatabase, locked: Balance? = nil) async throws -> Posted {
        let current: Balance
        if let locked { current = locked } else { current = try await lock(orgId: posting.orgId, on: db) }
        let after = Balance(balance: current.balance + posting.amount, held: current.held)
        let id = Identifier.make()
        let usage = posting.usage
        // The unique (org_id, idempotency_key) makes a replay insert nothing; only then is the first entry looked up.
        let inserted = try await db.first(Self.insertEntry, [
            .text(id), .text(posting.orgId), .text(posting.kind.rawValue), .integer(posting.amount), .integer(after.balance),
            .text(posting.idempotencyKey), .text(posting.actor.kind), .text(posting.actor.id), .text(posting.reason),
            .text(posting.requestId), .text(posting.providerId), .text(posting.model), .text(posting.apiKeyId), .text(posting.userId),
            .integer(usage?.inputTokens), .integer(usage?.outputTokens), .integer(usage?.cachedInputTokens),
            .integer(usage?.reasoningTokens), .bool(usage?.estimated ?? false), .integer(EpochMillis.now()),
        ])
        guard inserted != nil else {
            let existing = try await db.first(Self.entryByKey, [.text(posting.orgId), .text(posting.idempotencyKey)])
            return Posted(entryId: try existing?.string(0) ?? "", applied: false, balance: current)
        }
        return Posted(entryId: id, applied: true, balance: after)
    }

    private static let insertEntry = FixedStatement(
        """
        INSERT INTO ledger_entries (id, org_id, kind, amount, balance_after, idempotency_key, actor_kind, actor_id,
            reason, request_id, provider_id, model, api_key_id, user_id, input_tokens, output_tokens, cached_input_tokens,
            reasoning_tokens, estimated, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id
        """
    )

    private static let entryByKey = FixedStatement("SELECT id FROM ledger_entries WHERE org_id = ? AND idempotency_key = ?")

    /// Writes the account's maintained figures (after `append`); call inside the same transaction.
    func store(_ balance: Balance, orgId: String, on db: any SQLDatabase) async throws {
        try await db.run(Self.storeAccount, [.integer(balance.balance), .integer(balance.held), .integer(EpochMillis.now()), .text(orgId)])
    }

    private static let storeAccount = FixedStatement("UPDATE credit_accounts SET balance = ?, held = ?, updated_at = ? WHERE org_id = ?")

    public func balance(orgId: String, on db: any SQLDatabase) async throws -> Balance {
        guard let row = try await db.raw("SELECT balance, held FROM credit_accounts WHERE org_id = \(bind: orgId)").first() else {
            return Balance(balance: 0, held: 0)
        }
        return Balance(balance: try row.decode(column: "balance", as: Int64.self), held: try row.decode(column: "held", as: Int64.self))
    }

    /// The account's figures recomputed from their sources, for reconciliation: the balance is the sum of the
    /// ledger, what is held the sum of the open holds. They must equal the account's maintained figures.
    public func recomputed(orgId: String, on db: any SQLDatabase) async throws -> Balance {
        let ledger = try await db.raw(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS b FROM ledger_entries WHERE org_id = \(bind: orgId)"
        ).first()
        let holds = try await db.raw(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS h FROM credit_holds WHERE org_id = \(bind: orgId)"
        ).first()
        return Balance(balance: try ledger?.decode(column: "b", as: Int64.self) ?? 0, held: try holds?.decode(column: "h", as: Int64.self) ?? 0)
    }
}
