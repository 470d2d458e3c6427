import Testing
import TestSupport
@testable import Core

/// The contract of `SharedState`, run against every implementation available in this pass.
@Suite struct SharedStateContractTests {
    static let backends = TestSharedState.Backend.allCases

    @Test(arguments: backends) func getSetDeleteAndExpiry(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        #expect(try await state.get("k") == nil)
        try await state.set("k", "v1", ttl: nil)
        #expect(try await state.get("k") == "v1")
        #expect(try await state.timeToLive("k") == nil)
        // Long enough that a loaded machine still reads the TTL before the key expires.
        try await state.set("short", "x", ttl: .milliseconds(1000))
        let ttl = try #require(try await state.timeToLive("short"))
        #expect(ttl > .zero && ttl <= .milliseconds(1000))
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await state.get("short") == nil)
        #expect(try await state.delete("k"))
        #expect(try await state.delete("k") == false)
        await state.shutdown()
    }

    @Test(arguments: backends) func getManyAnswersInOrderWithGapsForAbsentKeys(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        try await state.set("m1", "one", ttl: nil)
        _ = try await state.increment("m3", by: 3, ttl: .seconds(30))
        #expect(try await state.getMany(["m1", "m2", "m3", "m1"]) == ["one", nil, "3", "one"])
        #expect(try await state.getMany([]) == [])
        await state.shutdown()
    }

    @Test(arguments: backends) func setIfAbsentStoresOnlyOnce(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        #expect(try await state.setIfAbsent("once", "a", ttl: .seconds(10)))
        #expect(try await state.setIfAbsent("once", "b", ttl: .seconds(10)) == false)
        #expect(try await state.get("once") == "a")
        await state.shutdown()
    }

    @Test(arguments: backends) func incrementCreatesWithTTLAndKeepsIt(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        #expect(try await state.increment("n", by: 2, ttl: .seconds(30)) == 2)
        #expect(try await state.increment("n", by: -5, ttl: .seconds(1)) == -3)
        let ttl = try #require(try await state.timeToLive("n"))
        #expect(ttl > .seconds(20), "a later increment must not shorten the window")
        #expect(try await state.increment("forever", by: 1, ttl: nil) == 1)
        #expect(try await state.timeToLive("forever") == nil)
        await state.shutdown()
    }

    /// Concurrency slots: 40 concurrent claims against a limit of 10 — exactly 10 succeed.
    @Test(arguments: backends) func boundedIncrementNeverExceedsTheLimitUnderConcurrency(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        let applied = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 {
                group.addTask { try await state.incrementIfWithin("slots", by: 1, limit: 10, ttl: .seconds(30)).applied }
            }
            var count = 0
            for try await ok in group where ok { count += 1 }
            return count
        }
        #expect(applied == 10)
        #expect(try await state.get("slots") == "10")
        let refused = try await state.incrementIfWithin("slots", by: 1, limit: 10, ttl: nil)
        #expect(refused == BoundedIncrement(applied: false, value: 10))
        let released = try await state.incrementIfWithin("slots", by: -3, limit: 10, ttl: nil)
        #expect(released == BoundedIncrement(applied: true, value: 7))
        #expect(try await state.incrementIfWithin("slots", by: 3, limit: 10, ttl: nil).applied)
        #expect(try await state.incrementIfWithin("slots", by: 1, limit: 10, ttl: nil).applied == false)
        await state.shutdown()
    }

    @Test(arguments: backends) func compareAndSetSwapsOnlyFromTheExpectedValue(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        #expect(try await state.compareAndSet("cas", expected: nil, new: "1", ttl: nil))
        #expect(try await state.compareAndSet("cas", expected: nil, new: "2", ttl: nil) == false)
        #expect(try await state.compareAndSet("cas", expected: "9", new: "2", ttl: nil) == false)
        #expect(try await state.compareAndSet("cas", expected: "1", new: "2", ttl: .seconds(5)))
        #expect(try await state.get("cas") == "2")
        #expect(try await state.timeToLive("cas") != nil)
        #expect(try await state.compareAndSet("cas", expected: "2", new: nil, ttl: nil))
        #expect(try await state.get("cas") == nil)
        await state.shutdown()
    }

    @Test(arguments: backends) func publishReachesEverySubscriberOfTheChannel(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        let a = try await state.subscribe("news")
        let b = try await state.subscribe("news")
        let other = try await state.subscribe("other")
        try await state.publish("news", "hello")
        try await state.publish("news", "again")
        var ia = a.makeAsyncIterator()
        var ib = b.makeAsyncIterator()
        #expect(await ia.next() == .message("hello"))
        #expect(await ia.next() == .message("again"))
        #expect(await ib.next() == .message("hello"))
        try await state.publish("other", "x")
        var io = other.makeAsyncIterator()
        #expect(await io.next() == .message("x"))
        await state.shutdown()
    }

    @Test(arguments: backends) func nonIntegerValuesAreRefusedByIncrement(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        try await state.set("text", "abc", ttl: nil)
        await #expect(throws: (any Error).self) { _ = try await state.increment("text", by: 1, ttl: nil) }
        #expect(try await state.get("text") == "abc")
        await state.shutdown()
    }
}

@Suite struct RedisSpecificTests {
    /// When the subscriber connection is killed, it reconnects and tells subscribers to drop their caches.
    @Test func subscriberReconnectsAndAnnouncesAReset() async throws {
        guard let location = try TestEnvironment.redisOrSkip() else { return }
        let prefix = "test:\(RandomToken.hex(byteCount: 6)):"
        let state = RedisSharedState(location: location, keyPrefix: prefix)
        let events = try await state.subscribe("chan")
        let seen = EventLog()
        let reader = Task { for await event in events { await seen.append(event) } }
        let admin = RedisClient(location: location, connections: 1)
        // Kill only this test's subscriber connection: other tests share the server.
        let name = RedisSharedState.subscriberName(prefix: prefix)
        let list = try #require(try await admin.send(["CLIENT", "LIST", "TYPE", "pubsub"]).string)
        let ids = list.split(separator: "\n").filter { $0.contains(" name=\(name) ") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) }
        }
        #expect(ids.count == 1)
        for id in ids { _ = try await admin.send(["CLIENT", "KILL", "ID", id]) }
        // Generous: reconnecting is what is tested, not how fast a loaded machine schedules it.
        #expect(try await seen.waitFor(.reset, within: .seconds(20)))
        try await state.publish("chan", "after")
        #expect(try await seen.waitFor(.message("after"), within: .seconds(5)))
        reader.cancel()
        await admin.shutdown()
        await state.shutdown()
    }

    @Test func serverErrorsSurfaceAsErrors() async throws {
        guard let location = try TestEnvironment.redisOrSkip() else { return }
        let client = RedisClient(location: location, connections: 1)
        await #expect(throws: RedisError.self) { _ = try await client.send(["NOSUCHCOMMAND"]) }
        #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        await client.shutdown()
    }
}

actor EventLog {
    private var events: [SharedStateEvent] = []

    func append(_ event: SharedStateEvent) { events.append(event) }

    func waitFor(_ event: SharedStateEvent, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if events.contains(event) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
