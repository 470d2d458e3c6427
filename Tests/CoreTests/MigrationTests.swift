import SQLKit
import Testing
import TestSupport
@testable import Core

@Suite struct MigrationTests {
    @Test func appliesOnceAndRecordsChecksums() async throws {
        try await TestDatabase.withFresh { location in
            let database = try await Database.open(location, logger: TestEnvironment.logger)
            defer { Task { await database.close() } }
            let files = try Migrator.load(dialect: database.dialect)
            #expect(files.first?.version == 1)
            let first = try await Migrator(database: database).migrate()
            #expect(first == files.map(\.version))
            let second = try await Migrator(database: database).migrate()
            #expect(second.isEmpty)
            let rows = try await database.query("SELECT version, checksum FROM schema_migrations ORDER BY version")
            #expect(rows.count == files.count)
            #expect(try rows[0].decode(column: "checksum", as: String.self) == files[0].checksum)
            let tables = try await Migrator.describeSchema(database)
            for table in ["organizations", "users", "memberships", "api_keys", "audit_log", "schema_migrations"] {
                #expect(tables[table] != nil, "missing table \(table)")
            }
        }
    }

    @Test func refusesToRunWhenAnAppliedFileChanged() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
            await #expect(throws: MigrationError.self) { try await Migrator(database: database).migrate() }
        }
    }

    @Test func refusesADatabaseFromANewerBuild() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)"
            )
            await #expect(throws: MigrationError.self) { try await Migrator(database: database).migrate() }
        }
    }

    /// Two instances starting at once: both succeed, each migration is applied exactly once.
    @Test func concurrentMigratorsApplyEachFileOnce() async throws {
        try await TestDatabase.withFresh { location in
            let a = try await Database.open(location, logger: TestEnvironment.logger)
            let b = try await Database.open(location, logger: TestEnvironment.logger)
            async let first = Migrator(database: a).migrate()
            async let second = Migrator(database: b).migrate()
            let (x, y) = try await (first, second)
            let total = try Migrator.load(dialect: a.dialect).count
            #expect(x.count + y.count == total)
            let rows = try await a.query("SELECT COUNT(*) AS n FROM schema_migrations")
            #expect(try rows[0].decode(column: "n", as: Int.self) == total)
            await a.close()
            await b.close()
        }
    }

    /// Both dialects must yield the same tables and columns.
    /// 0011 takes holds out of the ledger on a database in use: open holds stay (and stay held), closed ones go;
    /// 0012 rebuilds the table keyed by its primary key alone and keeps them too.
    @Test func holdsLeaveTheLedgerWithOpenHoldsKept() async throws {
        try await TestDatabase.withFresh { location in
            let database = try await Database.open(location, logger: TestEnvironment.logger)
            defer { Task { await database.close() } }
            try await Migrator(database: database).migrate(through: 10)
            try await database.execute("INSERT INTO organizations (id, slug, name, status, created_at, updated_at) VALUES ('o1', 'o1', 'O', 'active', 0, 0)")
            try await database.execute("INSERT INTO credit_accounts (org_id, balance, held, created_at, updated_at) VALUES ('o1', 1000, 300, 0, 0)")
            for (id, amount, status) in [("open-1", 100, "open"), ("open-2", 200, "open"), ("done", 400, "settled"), ("gone", 500, "expired")] {
                try await database.execute(
                    """
                    INSERT INTO credit_holds (request_id, org_id, api_key_id, amount, status, created_at, expires_at, closed_at)
                    VALUES (\(bind: id), 'o1', NULL, \(bind: Int64(amount)), \(bind: status), 0, 9, NULL)
                    """
                )
            }
            let applied = try await Migrator(database: database).migrate()
            #expect(applied.contains(11) && applied.contains(12))
            let holds = try await database.query("SELECT request_id, amount FROM credit_holds ORDER BY request_id")
            #expect(try holds.map { try $0.decode(column: "request_id", as: String.self) } == ["open-1", "open-2"])
            let held = try #require(try await database.first("SELECT CAST(SUM(amount) AS BIGINT) AS h FROM credit_holds WHERE org_id = 'o1'"))
            let account = try #require(try await database.first("SELECT held FROM credit_accounts WHERE org_id = 'o1'"))
            #expect(try held.decode(column: "h", as: Int64.self) == account.decode(column: "held", as: Int64.self))
            let columns = try await Migrator.describeSchema(database)["credit_holds"] ?? []
            #expect(columns.contains("expires_at") && !columns.contains("status") && !columns.contains("closed_at"))
        }
    }

    /// 0013 re-keys the ledger by (org_id, id) on a database in use: every entry stays, in the same order, and an
    /// idempotency key can still be posted only once per organisation.
    @Test func ledgerKeyedByOrganisationKeepsEveryEntry() async throws {
        try await TestDatabase.withFresh { location in
            let database = try await Database.open(location, logger: TestEnvironment.logger)
            defer { Task { await database.close() } }
            try await Migrator(database: database).migrate(through: 12)
            for org in ["o1", "o2"] {
                try await database.execute(
                    "INSERT INTO organizations (id, slug, name, status, created_at, updated_at) VALUES (\(bind: org), \(bind: org), 'O', 'active', 0, 0)"
                )
            }
            let entries = [("e1", "o1", "k1", -5), ("e2", "o1", "k2", -7), ("e3", "o2", "k1", 100)]
            for (id, org, key, amount) in entries {
                try await database.execute(Self.ledgerInsert(id: id, org: org, key: key, amount: Int64(amount)))
            }
            let applied = try await Migrator(database: database).migrate()
            #expect(applied.contains(13))
            let rows = try await database.query("SELECT id, org_id, amount FROM ledger_entries WHERE org_id = 'o1' ORDER BY id DESC")
            #expect(try rows.map { try $0.decode(column: "id", as: String.self) } == ["e2", "e1"])
            #expect(try rows.map { try $0.decode(column: "amount", as: Int64.self) } == [-7, -5])
            await #expect(throws: (any Error).self) {
                try await database.execute(Self.ledgerInsert(id: "e4", org: "o1", key: "k1", amount: -5))
            }
            try await database.execute(Self.ledgerInsert(id: "e5", org: "o2", key: "k2", amount: -1))
            let count = try #require(try await database.first("SELECT COUNT(*) AS n FROM ledger_entries"))
            #expect(try count.decode(column: "n", as: Int.self) == 4)
        }
    }

    private static func ledgerInsert(id: String, org: String, key: String, amount: Int64) -> SQLQueryString {
        """
        INSERT INTO ledger_entries (id, org_id, kind, amount, balance_after, idempotency_key, actor_kind, created_at)
        VALUES (\(bind: id), \(bind: org), 'charge', \(bind: amount), 0, \(bind: key), 'system', 0)
        """
    }

    @Test func postgresAndSQLiteSchemasMatch() async throws {
        guard let server = try TestEnvironment.postgresOrSkip() else { return }
        let sqlite = try await TestDatabase.withFreshSQLite { location in
            try await Self.migratedSchema(location)
        }
        let postgres = try await TestDatabase.withFreshPostgres(server) { location in
            try await Self.migratedSchema(location)
        }
        #expect(sqlite.keys.sorted() == postgres.keys.sorted())
        for (table, columns) in sqlite {
            #expect(postgres[table] == columns, "columns of \(table) differ")
        }
        #expect(Try.versions(.postgres) == Try.versions(.sqlite))
    }

    private static func migratedSchema(_ location: DatabaseLocation) async throws -> [String: [String]] {
        let database = try await Database.open(location, logger: TestEnvironment.logger)
        try await Migrator(database: database).migrate()
        let schema = try await Migrator.describeSchema(database)
        await database.close()
        return schema
    }

    private enum Try {
        static func versions(_ dialect: SQLDialectKind) -> [String] {
            ((try? Migrator.load(dialect: dialect)) ?? []).map { "\($0.version)_\($0.name)" }
        }
    }
}

@Suite struct DatabaseTests {
    @Test func transactionsRollBackAndReturnTheCallersError() async throws {
        struct Boom: Error {}
        try await TestDatabase.withMigrated { database in
            await #expect(throws: Boom.self) {
                try await database.transaction { db in
                    try await db.raw(
                        "INSERT INTO organizations (id, slug, name, status, created_at, updated_at) VALUES ('o1', 'rolled', 'R', 'active', 0, 0)"
                    ).run()
                    throw Boom()
                }
            }
            let rows = try await database.query("SELECT id FROM organizations WHERE slug = 'rolled'")
            #expect(rows.isEmpty)
        }
    }

    @Test func typesRoundTripInBothDialects() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                """
                INSERT INTO users (id, email, password_hash, is_system_admin, status, created_at, updated_at)
                VALUES ('u1', 'a@b.c', NULL, \(bind: true), 'active', \(bind: Int64(1_700_000_000_123)), 0)
                """
            )
            let row = try #require(try await database.first("SELECT * FROM users WHERE id = 'u1'"))
            #expect(try row.decode(column: "is_system_admin", as: Bool.self) == true)
            #expect(try row.decode(column: "created_at", as: Int64.self) == 1_700_000_000_123)
            #expect(try row.decode(column: "password_hash", as: String?.self) == nil)
        }
    }

    @Test func unreachableDatabaseGivesUpWithinTheConfiguredTime() async throws {
        let config = try AppConfig.load(from: [
            "DATABASE_URL": "postgres://nobody:pw@127.0.0.1:1/none", "AIHIGRESS_DB_CONNECT_TIMEOUT": "2",
        ])
        let started = ContinuousClock.now
        let error = await #expect(throws: DatabaseConnector.Unreachable.self) {
            _ = try await DatabaseConnector.connect(config, logger: TestEnvironment.logger)
        }
        #expect(started.duration(to: .now) < .seconds(10))
        #expect(error?.description.contains("127.0.0.1:1") == true)
        #expect(error?.description.contains("pw") == false)
    }
}
