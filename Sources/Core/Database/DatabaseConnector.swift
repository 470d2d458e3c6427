import Logging

/// Opens the database at start-up, retrying with backoff while it is unreachable, within a bounded time.
public enum DatabaseConnector {
    public struct Unreachable: Error, CustomStringConvertible {
        public let location: String
        public let waited: Duration
        public let lastError: String
        public var description: String { "database \(location) unreachable after \(waited): \(lastError)" }
    }

    public static func connect(_ config: AppConfig, logger: Logger) async throws -> Database {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: config.databaseConnectTimeout)
        var delay = Duration.milliseconds(250)
        while true {
            var lastError = ""
            do {
                // A pending request waits for the pool's connection attempt, so that attempt must fit the deadline too.
                let attemptLimit = min(.seconds(5), max(clock.now.duration(to: deadline), .milliseconds(200)))
                let database = try await Database.open(
                    config.database, poolSize: config.databasePoolSize, connectTimeout: attemptLimit, logger: logger
                )
                do {
                    // Never wait past the start-up deadline (at least a moment, so a fast server still answers).
                    let remaining = max(clock.now.duration(to: deadline), .milliseconds(200))
                    try await withTimeout(min(.seconds(5), remaining), "database ping") { try await database.ping() }
                    return database
                } catch {
                    // Closing waits for the pool's pending attempt; do it in the background so the deadline holds.
                    Task { await database.close() }
                    throw error
                }
            } catch {
                lastError = String(describing: error)
            }
            if clock.now.advanced(by: delay) >= deadline {
                throw Unreachable(location: config.database.redacted, waited: config.databaseConnectTimeout, lastError: lastError)
            }
            logger.warning(
                "database not reachable yet; retrying",
                metadata: ["database": .string(config.database.redacted), "retry_in": .string("\(delay)")]
            )
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}
