/// `SharedState` on Redis. Multi-step operations run as Lua scripts so they stay atomic across instances.
/// Every key and channel is prefixed, so several deployments (or test runs) can share one server.
public final class RedisSharedState: SharedState {
    private let client: RedisClient
    private let subscriber: RedisSubscriber
    private let prefix: String

    public init(location: RedisLocation, keyPrefix: String = "ahg:", connections: Int = 4) {
        self.client = RedisClient(location: location, connections: connections)
        self.subscriber = RedisSubscriber(location: location, clientName: Self.subscriberName(prefix: keyPrefix))
        self.prefix = keyPrefix
    }

    /// The subscriber connection's CLIENT SETNAME (no spaces allowed).
    public static func subscriberName(prefix: String) -> String {
        "aihigress-sub-" + String(prefix.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    private func ttlArgument(_ ttl: Duration?) -> String {
        String(ttl.map { max(1, $0.wholeMilliseconds) } ?? 0)
    }

    public func get(_ key: String) async throws -> String? {
        try await client.send(["GET", prefix + key]).string
    }

    public func getMany(_ keys: [String]) async throws -> [String?] {
        guard !keys.isEmpty else { return [] }
        guard case .array(let values) = try await client.send(["MGET"] + keys.map { prefix + $0 }), values.count == keys.count else {
            throw SharedStateError("MGET answered with an unexpected reply")
        }
        return values.map(\.string)
    }

    public func set(_ key: String, _ value: String, ttl: Duration?) async throws {
        var command = ["SET", prefix + key, value]
        if let ttl { command += ["PX", ttlArgument(ttl)] }
        _ = try await client.send(command)
    }

    public func setIfAbsent(_ key: String, _ value: String, ttl: Duration?) async throws -> Bool {
        var command = ["SET", prefix + key, value, "NX"]
        if let ttl { command += ["PX", ttlArgument(ttl)] }
        return try await client.send(command) != .null
    }

    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try await client.send(["DEL", prefix + key]).integer == 1
    }

    public func increment(_ key: String, by delta: Int, ttl: Duration?) async throws -> Int {
        let reply = try await client.send(["EVAL", Scripts.increment, "1", prefix + key, String(delta), ttlArgument(ttl)])
        guard let value = reply.integer else { throw RedisError.unexpectedReply("increment") }
        return value
    }

    public func incrementIfWithin(_ key: String, by delta: Int, limit: Int, ttl: Duration?) async throws -> BoundedIncrement {
        let reply = try await client.send(
            ["EVAL", Scripts.incrementIfWithin, "1", prefix + key, String(delta), String(limit), ttlArgument(ttl)]
        )
        guard case .array(let items) = reply, items.count == 2, let applied = items[0].integer, let value = items[1].integer
        else { throw RedisError.unexpectedReply("incrementIfWithin") }
        return BoundedIncrement(applied: applied == 1, value: value)
    }

    public func compareAndSet(_ key: String, expected: String?, new: String?, ttl: Duration?) async throws -> Bool {
        let reply = try await client.send([
            "EVAL", Scripts.compareAndSet, "1", prefix + key,
            expected == nil ? "0" : "1", expected ?? "",
            new == nil ? "0" : "1", new ?? "",
            ttlArgument(ttl),
        ])
        return reply.integer == 1
    }

    public func timeToLive(_ key: String) async throws -> Duration? {
        guard let millis = try await client.send(["PTTL", prefix + key]).integer, millis >= 0 else { return nil }
        return .milliseconds(millis)
    }

    public func publish(_ channel: String, _ message: String) async throws {
        _ = try await client.send(["PUBLISH", prefix + channel, message])
    }

    public func subscribe(_ channel: String) async throws -> AsyncStream<SharedStateEvent> {
        try await subscriber.subscribe(prefix + channel)
    }

    public func ping() async throws {
        guard try await client.send(["PING"]).string == "PONG" else { throw RedisError.unexpectedReply("PING") }
    }

    public func shutdown() async {
        await subscriber.shutdown()
        await client.shutdown()
    }

    private enum Scripts {
        static let increment = """
            local v = redis.call('INCRBY', KEYS[1], ARGV[1])
            if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) < 0 then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return v
            """
        static let incrementIfWithin = """
            local current = tonumber(redis.call('GET', KEYS[1]) or '0')
            local delta = tonumber(ARGV[1])
            if delta > 0 and current + delta > tonumber(ARGV[2]) then
              return {0, current}
            end
            local v = redis.call('INCRBY', KEYS[1], delta)
            if tonumber(ARGV[3]) > 0 and redis.call('PTTL', KEYS[1]) < 0 then
              redis.call('PEXPIRE', KEYS[1], ARGV[3])
            end
            return {1, v}
            """
        static let compareAndSet = """
            local current = redis.call('GET', KEYS[1])
            if ARGV[1] == '1' then
              if current ~= ARGV[2] then return 0 end
            elseif current then
              return 0
            end
            if ARGV[3] == '1' then
              if tonumber(ARGV[5]) > 0 then
                redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
              else
                redis.call('SET', KEYS[1], ARGV[4])
              end
            else
              redis.call('DEL', KEYS[1])
            end
            return 1
            """
    }
}
