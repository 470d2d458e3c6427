import Core

/// The shared-state implementations this pass can test: always in-process, Redis in the external pass.
/// Each Redis instance gets its own key prefix so parallel tests never see each other's keys.
public enum TestSharedState {
    public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
        case inProcess = "in-process"
        case redis
        public var description: String { rawValue }
    }

    public static func make(_ backend: Backend) throws -> (any SharedState)? {
        switch backend {
        case .inProcess:
            return InProcessSharedState()
        case .redis:
            guard let location = try TestEnvironment.redisOrSkip() else { return nil }
            return RedisSharedState(location: location, keyPrefix: "test:\(RandomToken.hex(byteCount: 6)):")
        }
    }

    /// The implementation matching the pass (Redis when present), for tests that need one shared state.
    public static func forPass() throws -> any SharedState {
        try make(.redis) ?? InProcessSharedState()
    }
}
