import SQLKit
import Logging

/// The one query layer over PostgreSQL and SQLite. Callers write SQL with `\(bind:)` placeholders (SQLKit renders
/// `$1` or `?`); the dialect is exposed for the rare statement that must differ.
public final class Database: Sendable {
    public let dialect: SQLDialectKind
    private let backend: any DatabaseBackend

    init(dialect: SQLDialectKind, backend: any DatabaseBackend) {
        self.dialect = dialect
        self.backend = backend
    }

    /// Opens the store at `location`; the returned database must be closed with `close()`.
    /// `connectTimeout` bounds each PostgreSQL connection attempt (a pending request waits for it).
    public static func open(
        _ location: DatabaseLocation, poolSize: Int = 10, connectTimeout: Duration = .seconds(5), logger: Logger
    ) async throws -> Database {
        switch location {
        case .sqlite(let path):
            return Database(dialect: .sqlite, backend: try await SQLiteBackend.open(path: path, logger: logger))
        case .postgres(let settings):
            return Database(dialect: .postgres, backend: PostgresBackend(settings: settings, poolSize: poolSize, connectTimeout: connectTimeout, logger: logger))
        }
    }

    /// Runs `body` on one connection, outside a transaction.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.withConnection(body)
    }

    /// Runs `body` in a transaction that commits when it returns and rolls back when it throws.
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`) so writers never deadlock.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await backend.transaction(body)
    }

    /// Rows of one query.
    public func query(_ sql: SQLQueryString) async throws -> [any SQLRow] {
        try await withConnection { try await $0.raw(sql).all() }
    }

    /// First row of one query, if any.
    public func first(_ sql: SQLQueryString) async throws -> (any SQLRow)? {
        try await withConnection { try await $0.raw(sql).first() }
    }

    /// Runs one statement.
    public func execute(_ sql: SQLQueryString) async throws {
        try await withConnection { try await $0.raw(sql).run() }
    }

    /// A cheap round trip, for readiness checks and start-up retries.
    public func ping() async throws {
        _ = try await withConnection { try await $0.raw("SELECT 1 AS one").all() }
    }

    public func close() async {
        await backend.close()
    }
}

protocol DatabaseBackend: Sendable {
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func close() async
}
