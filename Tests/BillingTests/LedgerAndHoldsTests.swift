import Core
import NIOConcurrencyHelpers
import SQLKit
import Testing
import TestSupport
@testable import Billing
@testable import Tenancy

/// The ledger, holds and settlement against real databases (SQLite in one pass, PostgreSQL in the other).
@Suite struct LedgerAndHoldsTests {
    func organization(_ database: Database, credits: Int64) async throws -> String {
        let org = try await database.transaction { db in try await Directory().createOrganization(slug: "org-\(RandomToken.hex(byteCount: 4))", name: "Org", on: db) }
        if credits != 0 {
            _ = try await CreditAccounts(database: database).credit(
                orgId: org.id, kind: .grant, amount: Credits(micros: credits), reason: "test", idempotencyKey: "seed", actor: .cli
            )
        }
        return org.id
    }

    func assertReconciled(_ database: Database, _ orgId: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (account, sums) = try await database.withConnection { db in
            (try await CreditLedger().balance(orgId: orgId, on: db), try await CreditLedger().recomputed(orgId: orgId, on: db))
        }
        #expect(account == sums, "balance must equal the ledger's sum and held the open holds' sum", sourceLocation: sourceLocation)
    }

    @Test func postingsAreIdempotentAndTheBalanceIsTheLedgerSum() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await organization(database, credits: 0)
            let accounts = CreditAccounts(database: database)
            let first = try await accounts.credit(orgId: orgId, kind: .grant, amount: Credits(micros: 5_000_000), reason: "welcome", idempotencyKey: "k1", actor: .cli)
            let replay = try await accounts.credit(orgId: orgId, kind: .grant, amount: Credits(micros: 5_000_000), reason: "welcome", idempotencyKey: "k1", actor: .cli)
            #expect(first.applied)
            #expect(!replay.applied)
            #expect(replay.entryId == first.entryId)
            _ = try await accounts.credit(orgId: orgId, kind: .adjustment, amount: Credits(micros: -1_500_000), reason: "correction", idempotencyKey: "k2", actor: .cli)
            let balance = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
            #expect(balance.balance == 3_500_000)
            try await assertReconciled(database, orgId)
            // Zero and negative grants are refused before anything is written.
            await #expect(throws: APIError.self) {
                _ = try await accounts.credit(orgId: orgId, kind: .grant, amount: Credits(micros: -1), reason: "x", idempotencyKey: "k3", actor: .cli)
            }
            let audited = try await database.query("SELECT action FROM audit_log WHERE org_id = \(bind: orgId) ORDER BY id")
            #expect(try audited.map { try $0.decode(column: "action", as: String.self) } == ["billing.grant", "billing.adjustment"])
        }
    }

    /// In the database (several instances) and in memory (one instance, `MemoryHoldsTests`) alike.
    @Test(arguments: [false, true]) func concurrentHoldsNeverExceedTheBalance(inMemory: Bool) async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await organization(database, credits: 1_000_000)
            let holds = CreditHolds(database: database, inMemory: inMemory)
            // Each request may cost up to 0.3 credits: only three fit in one credit.
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        do {
                            try await holds.place(orgId: orgId, requestId: "r\(index)", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)
                            return true
                        } catch let error as APIError {
                            #expect(error.status.code == 402)
                            #expect(error.code == "insufficient_quota")
                            return false
                        } catch {
                            Issue.record("unexpected \(error)")
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 3)
            let held = try await holds.balance(orgId: orgId)
            #expect(held.held == 900_000)
            #expect(held.available == 100_000)
            let stored = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
            #expect(stored.held == (inMemory ? 0 : 900_000), "holds in memory write nothing")
            try await assertReconciled(database, orgId)
        }
    }

    /// Concurrent holds and settlements of two organisations share transactions: a refused or failing item fails
    /// alone, and every account still equals its ledger.
    @Test func itemsSharingATransactionSucceedOrFailOnTheirOwn() async throws {
        try await TestDatabase.withMigrated { database in
            let rich = try await organization(database, credits: 10_000_000)
            let poor = try await organization(database, credits: 1_000_000)
            let holds = CreditHolds(database: database)
            try await holds.place(orgId: rich, requestId: "done", apiKeyId: nil, amount: 100_000, lifetime: .seconds(60), enforce: true)
            enum Outcome: Equatable { case placed, refused, failed, charged }
            let outcomes = await withTaskGroup(of: (String, Outcome).self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            try await holds.place(orgId: rich, requestId: "rich\(index)", apiKeyId: nil, amount: 100_000, lifetime: .seconds(60), enforce: true)
                            return ("rich", .placed)
                        } catch { return ("rich", .failed) }
                    }
                    group.addTask {
                        do {
                            try await holds.place(orgId: poor, requestId: "poor\(index)", apiKeyId: nil, amount: 300_000, lifetime: .seconds(60), enforce: true)
                            return ("poor", .placed)
                        } catch let error as APIError where error.status.code == 402 { return ("poor", .refused) } catch { return ("poor", .failed) }
                    }
                }
                // The same billing id twice: the second insert of its hold row fails, alone.
                for copy in 0..<2 {
                    group.addTask {
                        do {
                            try await holds.place(orgId: rich, requestId: "twice", apiKeyId: nil, amount: 1_000, lifetime: .seconds(60), enforce: true)
                            return ("twice", .placed)
                        } catch { return ("twice\(copy)", .failed) }
                    }
                }
                group.addTask {
                    let settlement = CreditHolds.Settlement(cost: 42, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "completed")
                    return ("done", (try? await holds.settle(orgId: rich, requestId: "done", settlement)) == true ? .charged : .failed)
                }
                return await group.reduce(into: [(String, Outcome)]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == ("rich", .placed) }.count == 20)
            #expect(outcomes.filter { $0 == ("poor", .placed) }.count == 3, "only three 0.3-credit holds fit in one credit")
            #expect(outcomes.filter { $0 == ("poor", .refused) }.count == 17)
            #expect(outcomes.filter { $0.0 == "twice" }.count == 1 && outcomes.filter { $0.0.hasPrefix("twice") }.count == 2)
            #expect(outcomes.contains { $0 == ("done", .charged) })
            let balance = try await database.withConnection { db in try await CreditLedger().balance(orgId: rich, on: db) }
            #expect(balance.held == 20 * 100_000 + 1_000)
            #expect(balance.balance == 10_000_000 - 42)
            try await assertReconciled(database, rich)
            try await assertReconciled(database, poor)
        }
    }

    @Test func settlementChargesOnceAndReleasesTheHold() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await organization(database, credits: 2_000_000)
            let holds = CreditHolds(database: database)
            try await holds.place(orgId: orgId, requestId: "b1", clientRequestId: "client-1", apiKeyId: "key", amount: 500_000, lifetime: .seconds(60), enforce: true)
            let settlement = CreditHolds.Settlement(cost: 123_456, usage: MeteredUsage(inputTokens: 10, outputTokens: 5), providerId: "p", model: "m", apiKeyId: "key", reason: "completed")
            #expect(try await holds.settle(orgId: orgId, requestId: "b1", clientRequestId: "client-1", settlement))
            #expect(try await !holds.settle(orgId: orgId, requestId: "b1", clientRequestId: "client-1", settlement), "a replay charges nothing")
            let balance = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
            #expect(balance.balance == 2_000_000 - 123_456)
            #expect(balance.held == 0)
            // Holds move no money: the ledger has the grant and the one charge, under the id the client saw.
            let kinds = try await database.query("SELECT kind, request_id FROM ledger_entries WHERE org_id = \(bind: orgId) ORDER BY id")
            #expect(try kinds.map { try $0.decode(column: "kind", as: String.self) } == ["grant", "charge"])
            #expect(try kinds.last?.decode(column: "request_id", as: String.self) == "client-1")
            let open = try await database.query("SELECT request_id FROM credit_holds WHERE org_id = \(bind: orgId)")
            #expect(open.isEmpty, "a settled hold is gone")
            try await assertReconciled(database, orgId)
        }
    }

    /// Settlements queued without waiting (a response does not wait for its charge's commit) are all in the
    /// figures once `settled()` returns, each charged once, and their completions report it.
    @Test func queuedSettlementsAreVisibleAfterTheBarrier() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await organization(database, credits: 5_000_000)
            let holds = CreditHolds(database: database)
            await holds.settled()  // nothing queued: returns at once
            for index in 0..<40 {
                try await holds.place(orgId: orgId, requestId: "q\(index)", apiKeyId: nil, amount: 100_000, lifetime: .seconds(60), enforce: true)
            }
            let charged = NIOLockedValueBox(0)
            for index in 0..<40 {
                let settlement = CreditHolds.Settlement(cost: 1_000, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "completed")
                holds.settleLater(orgId: orgId, requestId: "q\(index)", settlement) { outcome in
                    if case .success(true) = outcome { charged.withLockedValue { $0 += 1 } }
                }
            }
            // A replay of one of them, queued behind: charges nothing.
            let replay = CreditHolds.Settlement(cost: 1_000, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "completed")
            holds.settleLater(orgId: orgId, requestId: "q0", replay) { outcome in
                if case .success(true) = outcome { charged.withLockedValue { $0 += 1 } }
            }
            await holds.settled()
            #expect(charged.withLockedValue { $0 } == 40)
            let balance = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
            #expect(balance == .init(balance: 5_000_000 - 40 * 1_000, held: 0))
            try await assertReconciled(database, orgId)
        }
    }

    @Test func overdueHoldsExpireAndLateSettlementStillChargesOnce() async throws {
        try await TestDatabase.withMigrated { database in
            let orgId = try await organization(database, credits: 1_000_000)
            let holds = CreditHolds(database: database)
            try await holds.place(orgId: orgId, requestId: "crashed", apiKeyId: nil, amount: 800_000, lifetime: .milliseconds(1), enforce: true)
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await holds.expireOverdue() == 1)
            #expect(try await holds.expireOverdue() == 0)
            var balance = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
            #expect(balance.held == 0)
            try await assertReconciled(database, orgId)
            let expired = try await database.query("SELECT kind, amount, reason FROM ledger_entries WHERE org_id = \(bind: orgId) AND kind = 'release'")
            #expect(expired.count == 1, "an expired hold leaves a visible entry")
            #expect(try expired.first?.decode(column: "amount", as: Int64.self) == 0)
            #expect(try expired.first?.decode(column: "reason", as: String.self) == "hold expired")
            let settlement = CreditHolds.Settlement(cost: 50_000, usage: nil, providerId: nil, model: nil, apiKeyId: nil, reason: "late")
            #expect(try await holds.settle(orgId: orgId, requestId: "crashed", settlement))
            #expect(try await !holds.settle(orgId: orgId, requestId: "crashed", settlement))
            balance = try await database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
            #expect(balance == .init(balance: 950_000, held: 0))
            try await assertReconciled(database, orgId)
        }
    }
}
