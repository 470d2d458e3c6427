import Core
import Logging
import Tenancy

/// Everything a command needs, opened from the configuration: database (migrated when configured), shared state, keys.
public struct Runtime: Sendable {
    public let config: AppConfig
    public let logger: Logger
    public let database: Database
    public let sharedState: any SharedState
    public let keyRing: KeyRing
    public let passwords: PasswordHasher

    public static func open(_ config: AppConfig, logger: Logger, migrate: Bool) async throws -> Runtime {
        let secret = try SecretKeyStore.resolve(config)
        if let warning = secret.warning { logger.warning("\(warning)") }
        let database = try await DatabaseConnector.connect(config, logger: logger)
        do {
            if migrate {
                let applied = try await Migrator(database: database).migrate()
                if !applied.isEmpty { logger.info("applied migrations", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))]) }
            }
            let sharedState = try await SharedStateFactory.make(config, logger: logger)
            return Runtime(
                config: config,
                logger: logger,
                database: database,
                sharedState: sharedState,
                keyRing: KeyRing(secret: secret.secret),
                passwords: PasswordHasher(cost: config.bcryptCost)
            )
        } catch {
            await database.close()
            throw error
        }
    }

    public func close() async {
        await sharedState.shutdown()
        await database.close()
    }
}
