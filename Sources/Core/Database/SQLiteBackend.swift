import SQLKit
import Logging
import Foundation

/// The embedded store: one SQLite connection in WAL mode, used by one operation at a time so a transaction never
/// sees another task's statements. Other processes (the CLI, a second server) are serialised by SQLite's file lock.
/// Statements run inline on the calling thread (`SQLiteHandle`); the lock is what makes that safe.
final class SQLiteBackend: DatabaseBackend {
    private let handle: SQLiteHandle
    private let db: SQLiteInlineDatabase
    private let lock = AsyncLock()

    private init(handle: SQLiteHandle, logger: Logger) {
        self.handle = handle
        self.db = SQLiteInlineDatabase(handle: handle, logger: logger)
    }

    static func open(path: String, logger: Logger) async throws -> SQLiteBackend {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let backend = SQLiteBackend(handle: try SQLiteHandle.open(path: path), logger: logger)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"] {
            try await backend.withConnection { try await $0.raw(SQLQueryString(pragma)).run() }
        }
        return backend
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.db
        return try await lock.withLock { try await body(db) }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.db
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
        let handle = self.handle
        await lock.withLock { handle.close() }
    }
}
