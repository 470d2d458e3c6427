import Core
import NIOConcurrencyHelpers

/// The holds of a single-instance deployment, kept in memory: placing one is a check and an addition under a lock
/// instead of a database transaction on every request's path. No other instance shares the balance, so the
/// process that places the holds sees every one of them. A hold stays counted until its settlement's charge has
/// committed, so the available figure never counts the same credits twice; holds that outlive their lifetime are
/// expired by the billing sweep, as database holds are.
///
/// The balance each check uses is the account as the ledger batcher last committed it (`committed`), or as read
/// from the database when older than `freshness` or invalidated by another posting (grants, top-ups, adjustments).
/// A read that raced with a commit is discarded (`generation`), so a stale read can never raise the figure a
/// commit lowered. Other processes writing the same file (the CLI) are seen within `freshness`.
final class HoldBook: Sendable {
    struct Hold: Sendable, Equatable {
        let orgId: String
        let amount: Int64
        let apiKeyId: String?
        /// Epoch milliseconds.
        let expiresAt: Int64
    }

    private struct Account {
        /// Balance minus what the database holds (holds of an earlier multi-instance run), as last known.
        var available: Int64?
        var readAt: ContinuousClock.Instant
        /// Bumped by every commit and invalidation: a database read started before one is outdated.
        var generation: UInt64 = 0
        /// Sum of this account's open holds here.
        var held: Int64 = 0
    }

    private struct State {
        var accounts: [String: Account] = [:]
        /// Open holds by billing id.
        var holds: [String: Hold] = [:]
    }

    private enum Attempt {
        case placed
        case refused(available: Int64)
        case duplicate
        case unknownBalance(generation: UInt64)
    }

    struct DuplicateHold: Error, CustomStringConvertible {
        let requestId: String
        var description: String { "a hold for billing id \(requestId) is already open" }
    }

    private let database: Database
    private let state = NIOLockedValueBox(State())
    let freshness: Duration

    init(database: Database, freshness: Duration = .seconds(1)) {
        self.database = database
        self.freshness = freshness
    }

    /// Holds `amount` for the request; with `enforce`, 402 when the available balance cannot cover it.
    func place(_ hold: LedgerBatcher.Hold) async throws {
        let entry = Hold(orgId: hold.orgId, amount: hold.amount, apiKeyId: hold.apiKeyId, expiresAt: EpochMillis.now() + hold.lifetime.milliseconds)
        // A read loses only to a commit or an invalidation; after two such races the read is kept whatever happened
        // meanwhile (a commit's figure is the newest anyway).
        for round in 0..<6 {
            switch attempt(entry, requestId: hold.requestId, enforce: hold.enforce, acceptStale: round >= 3) {
            case .placed:
                return
            case .refused(let available):
                throw CreditHolds.insufficient(needed: hold.amount, available: available)
            case .duplicate:
                throw DuplicateHold(requestId: hold.requestId)
            case .unknownBalance(let generation):
                try await refresh(hold.orgId, readingAfter: round < 2 ? generation : nil)
            }
        }
        throw BalanceUnreadable(orgId: hold.orgId)
    }

    struct BalanceUnreadable: Error, CustomStringConvertible {
        let orgId: String
        var description: String { "the balance of \(orgId) kept changing while it was read" }
    }

    private func attempt(_ hold: Hold, requestId: String, enforce: Bool, acceptStale: Bool) -> Attempt {
        let now = ContinuousClock.now
        let freshness = self.freshness
        return state.withLockedValue { state in
            guard state.holds[requestId] == nil else { return .duplicate }
            var account = state.accounts[hold.orgId] ?? Account(readAt: now)
            guard let available = account.available, acceptStale || account.readAt.duration(to: now) < freshness else {
                state.accounts[hold.orgId] = account
                return .unknownBalance(generation: account.generation)
            }
            if enforce && available - account.held < hold.amount { return .refused(available: available - account.held) }
            account.held += hold.amount
            state.accounts[hold.orgId] = account
            state.holds[requestId] = hold
            return .placed
        }
    }

    /// Reads the account and keeps the figure unless a commit or an invalidation came after `generation` (nil: keeps it).
    private func refresh(_ orgId: String, readingAfter generation: UInt64?) async throws {
        let read = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
        let now = ContinuousClock.now
        state.withLockedValue { state in
            guard var account = state.accounts[orgId], generation == nil || account.generation == generation else { return }
            account.available = read.available
            account.readAt = now
            state.accounts[orgId] = account
        }
    }

    /// The accounts as a ledger transaction left them; runs before that transaction's holds are released.
    func committed(_ balances: [String: CreditLedger.Balance]) {
        let now = ContinuousClock.now
        state.withLockedValue { state in
            for (orgId, balance) in balances {
                var account = state.accounts[orgId] ?? Account(readAt: now)
                account.available = balance.available
                account.readAt = now
                account.generation &+= 1
                state.accounts[orgId] = account
            }
        }
    }

    /// Another posting changed the account: the next hold reads it again.
    func invalidate(orgId: String) {
        state.withLockedValue { state in
            guard var account = state.accounts[orgId] else { return }
            account.available = nil
            account.generation &+= 1
            state.accounts[orgId] = account
        }
    }

    /// Closes the request's hold; nil when none is open (settled, expired, or never placed).
    @discardableResult
    func release(requestId: String) -> Hold? {
        state.withLockedValue { state in
            guard let hold = state.holds.removeValue(forKey: requestId) else { return nil }
            state.accounts[hold.orgId]?.held -= hold.amount
            return hold
        }
    }

    /// What the organisation's open holds here add up to.
    func held(orgId: String) -> Int64 {
        state.withLockedValue { $0.accounts[orgId]?.held ?? 0 }
    }

    /// Closes up to `limit` holds whose lifetime ended and returns them, for the sweep to record.
    func expire(now: Int64, limit: Int) -> [(requestId: String, hold: Hold)] {
        state.withLockedValue { state in
            let overdue = state.holds.filter { $0.value.expiresAt <= now }.sorted { $0.value.expiresAt < $1.value.expiresAt }.prefix(limit)
            for (requestId, hold) in overdue {
                state.holds[requestId] = nil
                state.accounts[hold.orgId]?.held -= hold.amount
            }
            return overdue.map { (requestId: $0.key, hold: $0.value) }
        }
    }
}
