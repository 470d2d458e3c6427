import Foundation
import SQLKit
import SQLiteKit
import Testing
import TestSupport
@testable import Core

/// The embedded store's own driver: values survive the round trip, the statement cache stays correct past its
/// limit, a lock held by another connection is waited out, and the WAL reaches the database file without the
/// serving connection checkpointing.
@Suite struct SQLiteDriverTests {
    @Test func valuesRoundTripThroughBindsAndRows() async throws {
        try await TestDatabase.withFreshSQLite { location in
            let database = try await Database.open(location, logger: TestEnvironment.logger)
            try await database.execute("CREATE TABLE t (i INTEGER, f REAL, s TEXT, b BLOB, n TEXT)")
            let text = "héllo \u{1F600} 'quoted' \"double\""
            let bytes = Data([0, 1, 2, 255, 0, 7])
            try await database.execute(
                "INSERT INTO t (i, f, s, b, n) VALUES (\(bind: Int64.max), \(bind: -2.5), \(bind: text), \(bind: bytes), \(bind: String?.none))"
            )
            let row = try #require(try await database.first("SELECT i, f, s, b, n FROM t"))
            #expect(try row.decode(column: "i", as: Int64.self) == Int64.max)
            #expect(try row.decode(column: "f", as: Double.self) == -2.5)
            #expect(try row.decode(column: "s", as: String.self) == text)
            #expect(try row.decode(column: "b", as: Data.self) == bytes)
            #expect(try row.decodeNil(column: "n"))
            #expect(try row.decode(column: "n", as: String?.self) == nil)
            #expect(row.allColumns == ["i", "f", "s", "b", "n"])
            #expect(row.contains(column: "s") && !row.contains(column: "missing"))
            #expect(throws: (any Error).self) { try row.decode(column: "missing", as: String.self) }
            await database.close()
        }
    }

    /// The driver converts optionals itself; each value must become exactly what SQLiteKit's encoder makes of it,
    /// and anything without a direct conversion must still reach that encoder.
    @Test func directBindValuesMatchSQLiteKitsEncoding() throws {
        let values: [any Encodable & Sendable] = [
            "text", "", "héllo \u{1F600}", 0, -7, Int.max, Int64.min, Int64(42), Int32(-3), true, false, -2.5, 0.0,
            String?.none, String?.some("x"), Int64?.none, Int64?.some(9), Int?.some(1), Bool?.some(true), Bool?.none, Double?.some(1.5),
            Data([1, 2, 3]), Data?.some(Data([4])), ["a": 1], [Int]?.none, UInt8(7), UInt64?.some(5),
        ]
        for value in values {
            #expect(try SQLiteInlineDatabase.bindValue(value) == SQLiteDataEncoder().encode(value), "\(value)")
        }
        #expect((String?.none as any Encodable) is any SQLiteOptionalBind)
        #expect(!(([Int]?.none as any Encodable) is any SQLiteOptionalBind))
    }

    @Test func statementCacheStaysCorrectPastItsLimit() async throws {
        try await TestDatabase.withFreshSQLite { location in
            let database = try await Database.open(location, logger: TestEnvironment.logger)
            for n in 0..<(SQLiteHandle.statementCacheLimit + 20) {
                // A distinct statement text each time, so the cache fills and starts over.
                let row = try #require(try await database.first(SQLQueryString("SELECT \(unsafeRaw: String(n)) AS n, \(bind: n * 2) AS twice")))
                #expect(try row.decode(column: "n", as: Int.self) == n)
                #expect(try row.decode(column: "twice", as: Int.self) == n * 2)
            }
            await database.close()
        }
    }

    @Test func aWriteWaitsOutAnotherConnectionsTransaction() async throws {
        try await TestDatabase.withFreshSQLite { location in
            let first = try await Database.open(location, logger: TestEnvironment.logger)
            let second = try await Database.open(location, logger: TestEnvironment.logger)
            try await first.execute("CREATE TABLE t (v TEXT)")
            let holding = Task {
                try await second.transaction { db in
                    try await db.raw("INSERT INTO t (v) VALUES ('second')").run()
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            let started = ContinuousClock.now
            try await first.execute("INSERT INTO t (v) VALUES ('first')")
            let waited = started.duration(to: .now)
            try await holding.value
            #expect(waited >= .milliseconds(150), "the insert should have waited for the other transaction (waited \(waited))")
            let rows = try await first.query("SELECT v FROM t ORDER BY rowid")
            #expect(try rows.map { try $0.decode(column: "v", as: String.self) } == ["second", "first"])
            await first.close()
            await second.close()
        }
    }

    @Test func theWALReachesTheDatabaseFileInTheBackground() async throws {
        try await TestDatabase.withFreshSQLite { location in
            guard case .sqlite(let path) = location else { return }
            let database = try await Database.open(location, logger: TestEnvironment.logger)
            let autocheckpoint = try #require(try await database.first("PRAGMA wal_autocheckpoint"))
            #expect(try autocheckpoint.decode(column: "wal_autocheckpoint", as: Int.self) == 0)
            try await database.execute("CREATE TABLE t (v TEXT)")
            let filler = String(repeating: "x", count: 1000)
            try await database.transaction { db in
                for _ in 0..<1000 { try await db.raw("INSERT INTO t (v) VALUES (\(bind: filler))").run() }
            }
            let deadline = ContinuousClock.now + .seconds(5)
            var size = 0
            while ContinuousClock.now < deadline {
                size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                if size >= 1_000_000 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(size >= 1_000_000, "the database file holds \(size) bytes; the rows are still only in the WAL")
            await database.close()
        }
    }
}
