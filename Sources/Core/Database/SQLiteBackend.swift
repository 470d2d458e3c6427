import SQLKit
import SQLiteKit
import SQLiteNIO
import Logging
import Foundation

/// The embedded store: one SQLite connection in WAL mode, used by one operation at a time so a transaction never
/// sees another task's statements. Other processes (the CLI, a second server) are serialised by SQLite's file lock.
final class SQLiteBackend: DatabaseBackend {
    private let connection: SQLiteConnection
    private let lock = AsyncLock()

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    static func open(path: String, logger: Logger) async throws -> SQLiteBackend {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let db = connection.sql()
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=15000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"] {
            try await db.raw(SQLQueryString(pragma)).run()
        }
        return SQLiteBackend(connection: connection)
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = connection.sql()
        return try await lock.withLock { try await body(db) }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = connection.sql()
        return try await lock.withLock {
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    func close() async {
        try? await connection.close()
    }
}
