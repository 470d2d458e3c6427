import Core
import NIOConcurrencyHelpers
import Testing

@Suite struct AsyncLockTests {
    /// A read, a suspension and a write per task: without mutual exclusion increments are lost.
    @Test func holdersNeverInterleave() async {
        let lock = AsyncLock()
        let counter = NIOLockedValueBox(0)
        let inside = NIOLockedValueBox((now: 0, most: 0))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    await lock.withLock {
                        inside.withLockedValue { $0.now += 1; $0.most = max($0.most, $0.now) }
                        let read = counter.withLockedValue { $0 }
                        await Task.yield()
                        counter.withLockedValue { $0 = read + 1 }
                        inside.withLockedValue { $0.now -= 1 }
                    }
                }
            }
        }
        #expect(counter.withLockedValue { $0 } == 200)
        #expect(inside.withLockedValue { $0.most } == 1)
    }

    /// The body's error propagates and the lock is free again afterwards.
    @Test func aThrowingBodyReleasesTheLock() async throws {
        struct Boom: Error {}
        let lock = AsyncLock()
        await #expect(throws: Boom.self) { try await lock.withLock { throw Boom() } }
        let value = await lock.withLock { 42 }
        #expect(value == 42)
    }
}
