import Core
import NIOConcurrencyHelpers
import SQLKit
import Testing
import TestSupport
@testable import Billing
@testable import Tenancy

/// Holds kept in memory (a single instance): the same guarantees as database holds — no overspend under
/// concurrency, one charge per request, expiry — without writing a hold to the database.
@Suite struct MemoryHoldsTests {
    let ledgerTests = LedgerAndHoldsTests()

    func storedHolds(_ database: Database, _ orgId: String) async throws -> (rows: Int, held: Int64) {
        let rows = try await database.query("SELECT request_id FROM credit_holds WHERE org_id = \(bind: orgId)")
        let account = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
        return (rows.count, account.held)
    }

    /// (Concurrent holds against one balance: `LedgerAndHoldsTests.concurrentHoldsNeverExceedTheBalance`, both ways.)
    @Test func aBillingIdHoldsOnce() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await ledgerTests.organization(database, credits: 1_000_000)
            let holds = CreditHolds(database: database, inMemory: true)
            try await holds.place(orgId: orgId, requestId: "r-dup", apiKeyId: nil, amount: 1, lifetime: .seconds(60), enforce: false)
            await #expect(throws: HoldBook.DuplicateHold.self) {
                try await holds.place(orgId: orgId, requestId: "r-dup", apiKeyId: nil, amount: 1, lifetime: .seconds(60), enforce: false)
            }
            #expect(try await holds.balance(orgId: orgId).held == 1)
            let stored = try await storedHolds(database, orgId)
            #expect(stored.rows == 0 && stored.held == 0, "holds in memory write nothing")
        }
    }

    @Test func settlementChargesOnceAndReleasesTheHold() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await ledgerTests.organization(database, credits: 2_000_000)
            let holds = CreditHolds(database: database, inMemory: true)
            try await holds.place(orgId: orgId, requestId: "b1", clientRequestId: "client-1", apiKeyId: "key", amount: 500_000, lifetime: .seconds(60), enforce: true)
            let settlement = CreditHolds.Settlement(cost: 123_456, usage: MeteredUsage(inputTokens: 10, outputTokens: 5), providerId: "p", model: "m", apiKeyId: "key", reason: "completed")
            #expect(try await holds.settle(orgId: orgId, requestId: "b1", clientRequestId: "client-1", settlement))
            #expect(try await !holds.settle(orgId: orgId, requestId: "b1", clientRequestId: "client-1", settlement), "a replay charges nothing")
            #expect(try await holds.balance(orgId: orgId) == .init(balance: 2_000_000 - 123_456, held: 0))
            let kinds = try await database.query("SELECT kind, request_id FROM ledger_entries WHERE org_id = \(bind: orgId) ORDER BY id")
            #expect(try kinds.map { try $0.decode(column: "kind", as: String.self) } == ["grant", "charge"])
            #expect(try kinds.last?.decode(column: "request_id", as: String.self) == "client-1")
            // Nothing to charge: the hold goes at once and nothing is written.
            try await holds.place(orgId: orgId, requestId: "b2", apiKeyId: nil, amount: 700_000, lifetime: .seconds(60), enforce: true)
            let free = CreditHolds.Settlement(cost: 0, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "nothing produced")
            #expect(try await !holds.settle(orgId: orgId, requestId: "b2", free))
            #expect(try await holds.balance(orgId: orgId).held == 0)
            try await ledgerTests.assertReconciled(database, orgId)
        }
    }

    /// A settled hold keeps its credits held until the charge has committed; released earlier, the credits would
    /// be available twice (once as the not-yet-charged balance, once as the freed hold).
    @Test func aHoldIsReleasedOnlyOnceItsChargeCommitted() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await ledgerTests.organization(database, credits: 1_000_000)
            let holds = CreditHolds(database: database, inMemory: true)
            try await holds.place(orgId: orgId, requestId: "a", apiKeyId: nil, amount: 600_000, lifetime: .seconds(60), enforce: true)
            let settlement = CreditHolds.Settlement(cost: 500_000, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "completed")
            holds.settleLater(orgId: orgId, requestId: "a", settlement) { _ in }
            // Before the commit 0.4 is available (0.6 held); after it 0.5 (charged): 0.6 fits in neither.
            await #expect(throws: APIError.self) {
                try await holds.place(orgId: orgId, requestId: "b", apiKeyId: nil, amount: 600_000, lifetime: .seconds(60), enforce: true)
            }
            await holds.settled()
            #expect(try await holds.balance(orgId: orgId) == .init(balance: 500_000, held: 0))
            try await holds.place(orgId: orgId, requestId: "c", apiKeyId: nil, amount: 500_000, lifetime: .seconds(60), enforce: true)
            await #expect(throws: APIError.self) {
                try await holds.place(orgId: orgId, requestId: "d", apiKeyId: nil, amount: 1, lifetime: .seconds(60), enforce: true)
            }
        }
    }

    /// Credits posted in this process are usable at once; credits posted by another process (the CLI) once the
    /// balance the holds trust is older than its freshness.
    @Test func postedCreditsReachTheHolds() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await ledgerTests.organization(database, credits: 300_000)
            let notified = CreditHolds(database: database, inMemory: true, balanceFreshness: .seconds(3600))
            let accounts = CreditAccounts(database: database, changed: { notified.balanceChanged(orgId: $0) })
            try await notified.place(orgId: orgId, requestId: "n1", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)
            await #expect(throws: APIError.self) {
                try await notified.place(orgId: orgId, requestId: "n2", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)
            }
            _ = try await accounts.credit(orgId: orgId, kind: .topUp, amount: Credits(micros: 1_000_000), reason: "top up", idempotencyKey: "t1", actor: .cli)
            try await notified.place(orgId: orgId, requestId: "n3", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)

            let other = try await ledgerTests.organization(database, credits: 300_000)
            let unnotified = CreditHolds(database: database, inMemory: true, balanceFreshness: .milliseconds(200))
            try await unnotified.place(orgId: other, requestId: "u1", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)
            _ = try await CreditAccounts(database: database).credit(
                orgId: other, kind: .grant, amount: Credits(micros: 1_000_000), reason: "cli", idempotencyKey: "g1", actor: .cli
            )
            try await Task.sleep(for: .milliseconds(250))
            try await unnotified.place(orgId: other, requestId: "u2", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)
        }
    }

    @Test func overdueHoldsExpireVisiblyAndLateSettlementStillChargesOnce() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await ledgerTests.organization(database, credits: 1_000_000)
            let holds = CreditHolds(database: database, inMemory: true)
            try await holds.place(orgId: orgId, requestId: "stuck", apiKeyId: "key", amount: 800_000, lifetime: .milliseconds(1), enforce: true)
            try await holds.place(orgId: orgId, requestId: "live", apiKeyId: nil, amount: 100_000, lifetime: .seconds(60), enforce: true)
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await holds.expireOverdue() == 1)
            #expect(try await holds.expireOverdue() == 0)
            #expect(try await holds.balance(orgId: orgId).held == 100_000, "only the overdue hold expired")
            let expired = try await database.query("SELECT amount, reason, api_key_id FROM ledger_entries WHERE org_id = \(bind: orgId) AND kind = 'release'")
            #expect(expired.count == 1, "an expired hold leaves a visible entry")
            #expect(try expired.first?.decode(column: "amount", as: Int64.self) == 0)
            #expect(try expired.first?.decode(column: "reason", as: String.self) == "hold expired")
            #expect(try expired.first?.decode(column: "api_key_id", as: String?.self) == "key")
            let settlement = CreditHolds.Settlement(cost: 50_000, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "late")
            #expect(try await holds.settle(orgId: orgId, requestId: "stuck", settlement))
            #expect(try await !holds.settle(orgId: orgId, requestId: "stuck", settlement))
            #expect(try await holds.balance(orgId: orgId) == .init(balance: 950_000, held: 100_000))
            try await ledgerTests.assertReconciled(database, orgId)
        }
    }
}
