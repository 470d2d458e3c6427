import SQLKit
import Logging
import Foundation

/// The embedded store: one SQLite connection in WAL mode, used by one operation at a time so a transaction never
/// sees another task's statements. Other processes (the CLI, a second server) are serialised by SQLite's file lock.
/// Statements run inline on the calling thread (`SQLiteHandle`); the lock is what makes that safe.
final class SQLiteBackend: DatabaseBackend {
    private let handle: SQLiteHandle
    private let db: SQLiteInlineDatabase
    private let checkpointer: SQLiteCheckpointer
    private let lock = AsyncLock()

    private init(handle: SQLiteHandle, checkpointer: SQLiteCheckpointer, logger: Logger) {
        self.handle = handle
        self.checkpointer = checkpointer
        self.db = SQLiteInlineDatabase(handle: handle, logger: logger)
    }

    static func open(path: String, logger: Logger) async throws -> SQLiteBackend {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // WAL first: the checkpointer's connection needs the database in WAL mode. A WAL that grew under load is
        // cut back to 64 MB when it restarts.
        let handle = try SQLiteHandle.open(path: path, pragmas: [
            "PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL", "PRAGMA wal_autocheckpoint=0",
            "PRAGMA journal_size_limit=67108864",
        ])
        do {
            return SQLiteBackend(handle: handle, checkpointer: try SQLiteCheckpointer(path: path, logger: logger), logger: logger)
        } catch {
            handle.close()
            throw error
        }
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.db
        return try await lock.withLock { try await body(db) }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = self.db
        return try await lock.withLock {
            try await db.run(.beginImmediate)
            do {
                let result = try await body(db)
                try await db.run(.commit)
                return result
            } catch {
                try? await db.run(.rollback)
                throw error
            }
        }
    }

    func close() async {
        await checkpointer.stop()
        let handle = self.handle
        await lock.withLock { handle.close() }
    }
}
