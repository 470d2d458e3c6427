import Logging

/// Chooses the shared-state implementation from the configuration: Redis when `REDIS_URL` is set, else in-process.
public enum SharedStateFactory {
    public static func make(_ config: AppConfig, logger: Logger) async throws -> any SharedState {
        guard let location = config.redis else { return InProcessSharedState() }
        let state = RedisSharedState(location: location)
        do {
            try await withTimeout(.seconds(5), "redis ping") { try await state.ping() }
        } catch {
            await state.shutdown()
            throw SharedStateError("shared state \(location.redacted) unreachable: \(error)")
        }
        logger.info("shared state: redis", metadata: ["redis": .string(location.redacted)])
        return state
    }
}
