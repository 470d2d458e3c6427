import Core
import Foundation

/// A fresh, empty database for one test: a new PostgreSQL database in the external pass, a temporary SQLite file
/// otherwise. Dropped afterwards.
public enum TestDatabase {
    /// Runs `body` with the location of a fresh database of the pass's dialect.
    public static func withFresh<T>(_ body: (DatabaseLocation) async throws -> T) async throws -> T {
        if let server = try TestEnvironment.postgresOrSkip() {
            return try await withFreshPostgres(server, body)
        }
        return try await withFreshSQLite(body)
    }

    public static func withFreshSQLite<T>(_ body: (DatabaseLocation) async throws -> T) async throws -> T {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await body(.sqlite(path: dir.appendingPathComponent("test.sqlite").path))
    }

    public static func withFreshPostgres<T>(
        _ server: DatabaseLocation.PostgresSettings, _ body: (DatabaseLocation) async throws -> T
    ) async throws -> T {
        let name = "t_\(RandomToken.hex(byteCount: 8))"
        let admin = try await Database.open(.postgres(server), poolSize: 1, logger: TestEnvironment.logger)
        do {
            try await admin.execute("CREATE DATABASE \(unsafeRaw: name)")
        } catch {
            await admin.close()
            throw error
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(.postgres(server.with(database: name))))
        } catch {
            result = .failure(error)
        }
        try? await admin.execute("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)")
        await admin.close()
        return try result.get()
    }

    /// Opens and migrates a fresh database, runs `body`, closes it.
    public static func withMigrated<T>(_ body: (Database) async throws -> T) async throws -> T {
        try await withFresh { location in
            let database = try await Database.open(location, poolSize: 4, logger: TestEnvironment.logger)
            do {
                try await Migrator(database: database).migrate()
                let value = try await body(database)
                await database.close()
                return value
            } catch {
                await database.close()
                throw error
            }
        }
    }
}

extension DatabaseLocation {
    /// The `DATABASE_URL` form, for handing to a server process.
    public var url: String {
        switch self {
        case .sqlite(let path): return "sqlite://\(path)"
        case .postgres(let p):
            let password = p.password.map { ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
            return "postgres://\(p.username)\(password)@\(p.host):\(p.port)/\(p.database)"
        }
    }
}

extension TestDatabase {
    /// Cuts every connection to `location` (and, with `block`, refuses new ones): the database becomes unreachable.
    public static func terminateConnections(
        to location: DatabaseLocation, server: DatabaseLocation.PostgresSettings, block: Bool
    ) async throws {
        guard case .postgres(let target) = location else { return }
        let admin = try await Database.open(.postgres(server), poolSize: 1, logger: TestEnvironment.logger)
        if block { try await admin.execute("ALTER DATABASE \(unsafeRaw: target.database) ALLOW_CONNECTIONS false") }
        try await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(bind: target.database) AND pid <> pg_backend_pid()"
        )
        await admin.close()
    }
}
