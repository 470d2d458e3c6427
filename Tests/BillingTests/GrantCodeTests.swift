import Core
import SQLKit
import Testing
import TestSupport
@testable import Billing
@testable import Tenancy

/// Grant codes against real databases (SQLite in one pass, PostgreSQL in the other): single use under
/// concurrency, refused once expired or revoked (with one indistinguishable answer), stored only hashed.
@Suite struct GrantCodeTests {
    let keyRing = KeyRing(secret: "grant-code-tests-secret-0123456789abcdef")

    func organization(_ database: Database) async throws -> String {
        try await database.transaction { db in
            try await Directory().createOrganization(slug: "org-\(RandomToken.hex(byteCount: 4))", name: "Org", on: db)
        }.id
    }

    func balance(_ database: Database, _ orgId: String) async throws -> (account: CreditLedger.Balance, sums: CreditLedger.Balance) {
        try await database.withConnection { db in
            (try await CreditLedger().balance(orgId: orgId, on: db), try await CreditLedger().recomputed(orgId: orgId, on: db))
        }
    }

    /// The error a refused redemption throws; nil when it succeeded.
    func refusal(_ codes: GrantCodes, _ code: String, orgId: String) async -> APIError? {
        do {
            _ = try await codes.redeem(code: code, orgId: orgId, userId: nil, actor: .cli, client: nil)
            return nil
        } catch let error as APIError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func aCodeIsRedeemedOnceEvenWhenTenOrganisationsRaceForIt() async throws {
        try await TestDatabase.withMigrated { database in
            let codes = GrantCodes(database: database, keyRing: keyRing)
            let issued = try await codes.issue(
                amount: Credits(parsing: "25.5")!, lifetimeSeconds: 3600, note: "launch", createdBy: nil, actor: .cli, client: nil
            )
            var orgs: [String] = []
            for _ in 0..<10 { orgs.append(try await organization(database)) }
            let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
                for orgId in orgs {
                    group.addTask {
                        do {
                            let redeemed = try await codes.redeem(code: issued.code, orgId: orgId, userId: nil, actor: .cli, client: nil)
                            #expect(redeemed.amount.micros == 25_500_000)
                            #expect(redeemed.posted.applied)
                            return (orgId, true)
                        } catch let error as APIError {
                            #expect(error.status.code == 404)
                            #expect(error.code == "grant_code_not_found")
                            return (orgId, false)
                        } catch {
                            Issue.record("unexpected \(error)")
                            return (orgId, false)
                        }
                    }
                }
                return await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let winners = outcomes.filter(\.1).map(\.0)
            #expect(winners.count == 1, "exactly one redemption succeeds: \(outcomes)")
            let grants = try await database.query("SELECT org_id, amount, idempotency_key FROM ledger_entries WHERE kind = 'grant'")
            #expect(grants.count == 1, "exactly one grant is posted")
            #expect(try grants.first?.decode(column: "idempotency_key", as: String.self) == "grant-code:\(issued.id)")
            #expect(try grants.first?.decode(column: "org_id", as: String.self) == winners.first)
            for orgId in orgs {
                let (account, sums) = try await balance(database, orgId)
                #expect(account == sums)
                #expect(account.balance == (orgId == winners.first ? 25_500_000 : 0))
            }
            let row = try #require(try await database.first("SELECT redeemed_at, redeemed_by_org FROM grant_codes WHERE id = \(bind: issued.id)"))
            #expect(try row.decode(column: "redeemed_by_org", as: String?.self) == winners.first)
            // The winner cannot redeem it a second time either.
            #expect(await refusal(codes, issued.code, orgId: try #require(winners.first))?.code == "grant_code_not_found")
            let audited = try await database.query(
                "SELECT action FROM audit_log WHERE org_id = \(bind: try #require(winners.first)) ORDER BY id"
            )
            #expect(try audited.map { try $0.decode(column: "action", as: String.self) }.sorted() == ["billing.grant", "grant_code.redeemed"])
        }
    }

    @Test func expiredRevokedUsedAndUnknownCodesAreRefusedAlike() async throws {
        try await TestDatabase.withMigrated { database in
            let codes = GrantCodes(database: database, keyRing: keyRing)
            let orgId = try await organization(database)
            func issue() async throws -> GrantCodes.Issued {
                try await codes.issue(amount: Credits(micros: 1_000_000), lifetimeSeconds: 3600, note: nil, createdBy: nil, actor: .cli, client: nil)
            }
            let expired = try await issue()
            try await database.execute("UPDATE grant_codes SET expires_at = \(bind: EpochMillis.now() - 1) WHERE id = \(bind: expired.id)")
            let revoked = try await issue()
            try await codes.revoke(id: revoked.id, actor: .cli, client: nil)
            try await codes.revoke(id: revoked.id, actor: .cli, client: nil)  // revoking twice changes nothing
            let used = try await issue()
            _ = try await codes.redeem(code: used.code, orgId: orgId, userId: nil, actor: .cli, client: nil)

            let unknown = GrantCodes.scheme + String(repeating: "A", count: GrantCodes.secretLength)
            var refusals: [APIError] = []
            for code in [expired.code, revoked.code, used.code, unknown, "not-a-code", expired.code.lowercased()] {
                let error = try #require(await refusal(codes, code, orgId: orgId), "\(code) must be refused")
                refusals.append(error)
            }
            for error in refusals {
                #expect(error.status.code == 404)
                #expect(error.code == GrantCodes.notRedeemable.code)
                #expect(error.message == GrantCodes.notRedeemable.message, "one answer for every refusal, so codes cannot be probed")
            }
            // Only the one used code paid out.
            let (account, sums) = try await balance(database, orgId)
            #expect(account.balance == 1_000_000)
            #expect(account == sums)

            // A redeemed code cannot be revoked; an unknown id is 404.
            do {
                try await codes.revoke(id: used.id, actor: .cli, client: nil)
                Issue.record("revoking a redeemed code must fail")
            } catch let error as APIError {
                #expect(error.status.code == 409)
            }
            do {
                try await codes.revoke(id: "no-such-id", actor: .cli, client: nil)
                Issue.record("revoking an unknown id must fail")
            } catch let error as APIError {
                #expect(error.status.code == 404)
            }

            let listed = try await codes.list(page: PageRequest(cursor: nil, limit: 50)).items
            let statuses = listed.compactMap { item -> String? in
                guard case .object(let fields) = item, case .string(let status)? = fields["status"] else { return nil }
                return status
            }
            #expect(statuses.sorted() == ["expired", "redeemed", "revoked"])
        }
    }

    @Test func codesAreStoredOnlyHashed() async throws {
        try await TestDatabase.withMigrated { database in
            let codes = GrantCodes(database: database, keyRing: keyRing)
            let issued = try await codes.issue(amount: Credits(micros: 5), lifetimeSeconds: 60, note: "n", createdBy: nil, actor: .cli, client: nil)
            #expect(issued.code.hasPrefix("ahc-"))
            #expect(issued.code.count == 4 + 24)
            #expect(issued.code.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            #expect(issued.code.hasPrefix(issued.prefix) && issued.prefix.count < issued.code.count)

            let row = try #require(try await database.first("SELECT * FROM grant_codes WHERE id = \(bind: issued.id)"))
            #expect(try row.decode(column: "code_hash", as: String.self) == keyRing.hash(issued.code, purpose: .tokenHash))
            // No column and no audit entry holds the code itself (nor its secret part).
            let secret = String(issued.code.dropFirst(issued.prefix.count))
            var stored: [String] = []
            for row in try await database.query("SELECT id, code_hash, code_prefix, note FROM grant_codes") {
                for column in ["id", "code_hash", "code_prefix", "note"] { stored.append(try row.decode(column: column, as: String?.self) ?? "") }
            }
            for row in try await database.query("SELECT details FROM audit_log") {
                stored.append(try row.decode(column: "details", as: String?.self) ?? "")
            }
            #expect(stored.count >= 5)
            for value in stored {
                #expect(!value.contains(issued.code) && !value.contains(secret), "the code is never stored: \(value)")
            }
            let listed = try await codes.list(page: PageRequest(cursor: nil, limit: 50)).items
            #expect(!JSONText.render(.array(listed)).contains(issued.code))
            #expect(!JSONText.render(.array(listed)).contains(keyRing.hash(issued.code, purpose: .tokenHash)))
        }
    }
}
