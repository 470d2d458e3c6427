import NIOCore
import NIOConcurrencyHelpers

/// A few pipelined connections to one Redis server, used round-robin and reopened on demand after a failure.
public final class RedisClient: Sendable {
    private let location: RedisLocation
    private let slots: [Slot]
    private let next = NIOLockedValueBox(0)

    public init(location: RedisLocation, connections: Int = 4) {
        self.location = location
        self.slots = (0..<max(1, connections)).map { _ in Slot() }
    }

    public func send(_ arguments: [String]) async throws -> RESPValue {
        let index = next.withLockedValue { value -> Int in
            value = (value + 1) % slots.count
            return value
        }
        let location = self.location
        let channel = try await slots[index].channel {
            try await RedisConnection.connect(to: location, selectDatabase: true, clientName: "aihigress")
        }
        return try await RedisConnection.send(arguments, on: channel)
    }

    public func shutdown() async {
        for slot in slots { await slot.close() }
    }

    /// One connection, opened by the first caller that needs it; concurrent callers share the same attempt.
    private final class Slot: Sendable {
        private let state = NIOLockedValueBox<Task<any Channel, any Error>?>(nil)

        func channel(connect: @escaping @Sendable () async throws -> any Channel) async throws -> any Channel {
            for _ in 0..<2 {
                let task = state.withLockedValue { current in
                    if let current { return current }
                    let created = Task { try await connect() }
                    current = created
                    return created
                }
                do {
                    let channel = try await task.value
                    if channel.isActive { return channel }
                    state.withLockedValue { if $0 == task { $0 = nil } }
                } catch {
                    state.withLockedValue { if $0 == task { $0 = nil } }
                    throw error
                }
            }
            throw RedisError.connectionClosed
        }

        func close() async {
            let task = state.withLockedValue { current in
                defer { current = nil }
                return current
            }
            if let channel = try? await task?.value { try? await channel.close() }
        }
    }
}
