/// State shared by every gateway instance: counters for rate limits, holds, cooldowns, stickiness, cache invalidation.
/// Two implementations answer the same contract (a test suite runs against both): Redis for several instances,
/// in-process for a single one. Values are strings; durations are at millisecond precision.
public protocol SharedState: Sendable {
    func get(_ key: String) async throws -> String?
    /// Several values in one round trip, in the order of `keys` (nil where absent).
    func getMany(_ keys: [String]) async throws -> [String?]
    /// Stores `value`; `ttl` nil keeps it until deleted.
    func set(_ key: String, _ value: String, ttl: Duration?) async throws
    /// Stores `value` only if the key is absent; returns whether it stored.
    func setIfAbsent(_ key: String, _ value: String, ttl: Duration?) async throws -> Bool
    /// Removes the key; returns whether it existed.
    @discardableResult func delete(_ key: String) async throws -> Bool
    /// Adds `delta` (may be negative) and returns the new value; a key created here gets `ttl`.
    func increment(_ key: String, by delta: Int, ttl: Duration?) async throws -> Int
    /// Adds a positive `delta` only if the result stays at or below `limit` (concurrency slots, holds);
    /// a non-positive `delta` always applies. A key created here gets `ttl`.
    func incrementIfWithin(_ key: String, by delta: Int, limit: Int, ttl: Duration?) async throws -> BoundedIncrement
    /// Replaces the value only if it currently equals `expected` (nil = absent). `new` nil deletes.
    func compareAndSet(_ key: String, expected: String?, new: String?, ttl: Duration?) async throws -> Bool
    /// Remaining time to live; nil when the key is absent or never expires.
    func timeToLive(_ key: String) async throws -> Duration?
    func publish(_ channel: String, _ message: String) async throws
    /// Messages published on `channel` from now on. A `.reset` event means messages may have been missed
    /// (the connection to the shared store was lost): subscribers drop whatever they cached.
    func subscribe(_ channel: String) async throws -> AsyncStream<SharedStateEvent>
    /// A round trip to the store, for readiness.
    func ping() async throws
    func shutdown() async
}

public struct BoundedIncrement: Sendable, Equatable {
    public let applied: Bool
    /// The value after the call (unchanged when not applied).
    public let value: Int

    public init(applied: Bool, value: Int) {
        self.applied = applied
        self.value = value
    }
}

public enum SharedStateEvent: Sendable, Equatable {
    case message(String)
    case reset
}

public struct SharedStateError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Duration {
    /// Whole milliseconds, at least 1 for any positive duration (Redis PX rejects 0).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return millis == 0 && attoseconds > 0 ? 1 : millis
    }
}
