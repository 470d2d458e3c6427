import Foundation
import SQLKit
import Testing
import TestSupport
@testable import Core

/// Fixed statements (the ledger's path): the PostgreSQL text is numbered outside literals, typed values and
/// typed nulls survive the round trip on both databases, rows are read by position, and a transaction's fixed
/// BEGIN/COMMIT/ROLLBACK keep or discard its work.
@Suite struct FixedStatementTests {
    @Test func postgresPlaceholdersAreNumberedOutsideLiterals() {
        let statement = FixedStatement("SELECT ?, '?', 'it''s ?', ? WHERE x = ?")
        #expect(statement.sqliteText == "SELECT ?, '?', 'it''s ?', ? WHERE x = ?")
        #expect(statement.postgresText == "SELECT $1, '?', 'it''s ?', $2 WHERE x = $3")
        #expect(FixedStatement("COMMIT").postgresText == "COMMIT")
        #expect(FixedStatement("a").slot != FixedStatement("a").slot)
    }

    @Test func valuesRoundTripOnSQLite() async throws {
        try await TestDatabase.withFreshSQLite { location in
            try await Self.roundTrip(location, flagType: "INTEGER")
        }
    }

    @Test func valuesRoundTripOnPostgres() async throws {
        guard let server = try TestEnvironment.postgresOrSkip() else { return }
        try await TestDatabase.withFreshPostgres(server) { location in
            try await Self.roundTrip(location, flagType: "BOOLEAN")
        }
    }

    private static let insert = FixedStatement("INSERT INTO t (k, i, s, f) VALUES (?, ?, ?, ?) RETURNING k, i, s")
    private static let select = FixedStatement("SELECT k, i, s FROM t WHERE k >= ? ORDER BY k")
    private static let byKey = FixedStatement("SELECT i FROM t WHERE k = ?")

    /// The database with an empty table `t` (key, integer, text, flag).
    private static func openWithTable(_ location: DatabaseLocation, flagType: String = "INTEGER") async throws -> Database {
        let database = try await Database.open(location, logger: TestEnvironment.logger)
        try await database.execute("CREATE TABLE t (k BIGINT PRIMARY KEY, i BIGINT, s TEXT, f \(unsafeRaw: flagType) NOT NULL)")
        return database
    }

    private static func roundTrip(_ location: DatabaseLocation, flagType: String) async throws {
        let database = try await openWithTable(location, flagType: flagType)
        let text = "héllo \u{1F600} 'quoted' ?"
        try await database.withConnection { db in
            let returned = try #require(try await db.first(insert, [.integer(1), .integer(Int64.min), .text(text), .bool(true)]))
            #expect(try returned.int64(0) == 1)
            #expect(try returned.int64(1) == Int64.min)
            #expect(try returned.string(2) == text)
            // Typed nulls: PostgreSQL must accept a null of the column's type.
            _ = try await db.first(insert, [.integer(2), .integer(nil), .text(nil), .bool(false)])
            _ = try await db.first(insert, [.integer(3), .integer(Int64.max), .text(""), .bool(false)])

            var rows: [(Int64, String?)] = []
            try await db.run(select, [.integer(2)]) { row in rows.append((try row.int64(0), try row.optionalString(2))) }
            #expect(rows.map(\.0) == [2, 3])
            #expect(rows.map(\.1) == [nil, ""])

            let empty = try await db.first(byKey, [.integer(99)])
            #expect(empty == nil)
            let null = try #require(try await db.first(select, [.integer(2)]))
            #expect(throws: (any Error).self) { try null.int64(1) }
            #expect(throws: (any Error).self) { try null.string(2) }
            #expect(throws: (any Error).self) { try null.int64(7) }
        }
        let flags = try await database.query("SELECT k FROM t WHERE f = \(bind: true)")
        #expect(try flags.map { try $0.decode(column: "k", as: Int64.self) } == [1])
        await database.close()
    }

    @Test func transactionsCommitAndRollBackOnSQLite() async throws {
        try await TestDatabase.withFreshSQLite { location in
            let database = try await Self.openWithTable(location)
            try await database.transaction { db in
                _ = try await db.first(Self.insert, [.integer(1), .integer(10), .text("kept"), .bool(true)])
            }
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await database.transaction { db in
                    _ = try await db.first(Self.insert, [.integer(2), .integer(20), .text("discarded"), .bool(true)])
                    throw Refused()
                }
            }
            let keys = try await database.query("SELECT k FROM t ORDER BY k")
            #expect(try keys.map { try $0.decode(column: "k", as: Int64.self) } == [1])
            await database.close()
        }
    }

    @Test func fixedStatementsSurviveTheTextCacheStartingOver() async throws {
        try await TestDatabase.withFreshSQLite { location in
            let database = try await Self.openWithTable(location)
            _ = try await database.withConnection { db in try await db.first(Self.insert, [.integer(1), .integer(5), .text("a"), .bool(true)]) }
            for n in 0..<(SQLiteHandle.statementCacheLimit + 5) {
                _ = try await database.first(SQLQueryString("SELECT \(unsafeRaw: String(n)) AS n"))
            }
            let row = try await database.withConnection { db in try await db.first(Self.byKey, [.integer(1)]) }
            #expect(try row?.int64(0) == 5)
            await database.close()
        }
    }
}
