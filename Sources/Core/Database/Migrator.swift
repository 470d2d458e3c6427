import Foundation
import SQLKit
import Crypto
import MigrationFiles

/// One numbered SQL file.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public var checksum: String {
        Hex.lowercase(SHA256.hash(data: Data(sql.utf8)))
    }
}

public enum MigrationError: Error, CustomStringConvertible, Sendable {
    case missingDirectory(String)
    case badFileName(String)
    case duplicateVersion(Int)
    case changedAfterApply(version: Int, name: String)
    case unknownApplied(version: Int)

    public var description: String {
        switch self {
        case .missingDirectory(let d): "migration files not found for \(d) (set AIHIGRESS_MIGRATIONS_DIR)"
        case .badFileName(let f): "migration file '\(f)' is not named NNNN_name.sql"
        case .duplicateVersion(let v): "two migration files carry number \(v)"
        case .changedAfterApply(let v, let n):
            "migration \(v) (\(n)) was changed after it was applied; migrations are append-only — add a new file instead"
        case .unknownApplied(let v): "the database has migration \(v), which this build does not know; run a newer build"
        }
    }
}

/// Applies pending migrations in order, each in its own transaction, recorded in `schema_migrations`.
/// Concurrent starts are safe: PostgreSQL takes an advisory lock; SQLite's `BEGIN IMMEDIATE` takes the file's write lock.
public struct Migrator: Sendable {
    public let database: Database
    private static let advisoryLockKey = 7_274_747_001

    public init(database: Database) {
        self.database = database
    }

    public static func load(dialect: SQLDialectKind) throws -> [Migration] {
        guard let dir = MigrationFiles.directory(dialect: dialect.rawValue),
            let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path)
        else { throw MigrationError.missingDirectory(dialect.rawValue) }
        var migrations: [Migration] = []
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw MigrationError.duplicateVersion(a.version)
        }
        return migrations
    }

    /// Applies what is pending (up to `version`, for tests of a migration over existing data); returns the
    /// versions applied by this call.
    @discardableResult
    public func migrate(through version: Int = .max) async throws -> [Int] {
        let migrations = try Self.load(dialect: database.dialect).filter { $0.version <= version }
        let dialect = database.dialect
        return try await database.withConnection { db in
            if dialect == .postgres {
                try await db.raw("SELECT pg_advisory_lock(\(bind: Self.advisoryLockKey))").run()
            }
            do {
                let applied = try await Self.applyPending(migrations, on: db, dialect: dialect)
                if dialect == .postgres {
                    try await db.raw("SELECT pg_advisory_unlock(\(bind: Self.advisoryLockKey))").run()
                }
                return applied
            } catch {
                if dialect == .postgres {
                    try? await db.raw("SELECT pg_advisory_unlock(\(bind: Self.advisoryLockKey))").run()
                }
                throw error
            }
        }
    }

    private static func applyPending(_ migrations: [Migration], on db: any SQLDatabase, dialect: SQLDialectKind) async throws -> [Int] {
        try await db.raw(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)
            """
        ).run()
        let known = Set(migrations.map(\.version))
        for row in try await db.raw("SELECT version FROM schema_migrations").all() {
            let version = try row.decode(column: "version", as: Int.self)
            if !known.contains(version) { throw MigrationError.unknownApplied(version: version) }
        }
        var appliedNow: [Int] = []
        let begin: SQLQueryString = dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN"
        for migration in migrations {
            try await db.raw(begin).run()
            do {
                let existing = try await db.raw(
                    "SELECT checksum FROM schema_migrations WHERE version = \(bind: migration.version)"
                ).first()
                if let existing {
                    if try existing.decode(column: "checksum", as: String.self) != migration.checksum {
                        throw MigrationError.changedAfterApply(version: migration.version, name: migration.name)
                    }
                } else {
                    for statement in SQLScript.statements(in: migration.sql) {
                        try await db.raw(SQLQueryString(statement)).run()
                    }
                    try await db.raw(
                        """
                        INSERT INTO schema_migrations (version, name, checksum, applied_at)
                        VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: migration.checksum), \(bind: EpochMillis.now()))
                        """
                    ).run()
                    appliedNow.append(migration.version)
                }
                try await db.raw("COMMIT").run()
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
        return appliedNow
    }

    /// Table name → sorted column names, excluding SQLite's internal tables. Used to prove both dialects agree.
    public static func describeSchema(_ database: Database) async throws -> [String: [String]] {
        let rows: [any SQLRow]
        switch database.dialect {
        case .postgres:
            rows = try await database.query(
                """
                SELECT table_name AS t, column_name AS c FROM information_schema.columns
                WHERE table_schema = current_schema()
                """
            )
        case .sqlite:
            rows = try await database.query(
                """
                SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                """
            )
        }
        var schema: [String: [String]] = [:]
        for row in rows {
            schema[try row.decode(column: "t", as: String.self), default: []].append(try row.decode(column: "c", as: String.self))
        }
        return schema.mapValues { $0.sorted() }
    }
}
