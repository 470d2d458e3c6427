import SQLKit
import PostgresKit
import PostgresNIO
import NIOSSL
import Logging

/// PostgreSQL through PostgresNIO's pooled client; the pool runs in a task owned by this backend.
final class PostgresBackend: DatabaseBackend {
    private let client: PostgresClient
    private let runner: Task<Void, Never>

    init(settings: DatabaseLocation.PostgresSettings, poolSize: Int, connectTimeout: Duration, logger: Logger) {
        let tls: PostgresClient.Configuration.TLS
        switch settings.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.username,
            password: settings.password,
            database: settings.database,
            tls: tls
        )
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = connectTimeout
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.runner = Task { await client.run() }
    }

    func withConnection<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql())
        }
    }

    /// Manual BEGIN/COMMIT so the caller's own error comes back unwrapped (PostgresNIO would wrap it).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let db = connection.sql()
            try await db.raw("BEGIN").run()
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
        runner.cancel()
        await runner.value
    }
}
