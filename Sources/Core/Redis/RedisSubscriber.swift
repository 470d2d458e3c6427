import Foundation
import NIOCore
import NIOConcurrencyHelpers

/// One subscriber connection shared by every subscription of this process. When the connection drops it reconnects
/// with backoff, subscribes again, and sends `.reset` to every subscriber because messages may have been missed.
final class RedisSubscriber: Sendable {
    private struct State {
        var subscribers: [String: [UUID: AsyncStream<SharedStateEvent>.Continuation]] = [:]
        var connection: Task<any Channel, any Error>?
        var reconnecting = false
        var isShutDown = false
    }

    private let location: RedisLocation
    private let clientName: String
    private let state = NIOLockedValueBox(State())

    init(location: RedisLocation, clientName: String) {
        self.location = location
        self.clientName = clientName
    }

    func subscribe(_ channelName: String) async throws -> AsyncStream<SharedStateEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: SharedStateEvent.self, bufferingPolicy: .bufferingNewest(1024))
        state.withLockedValue { $0.subscribers[channelName, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLockedValue { $0.subscribers[channelName]?[id] = nil }
        }
        // When Redis is unreachable now, the stream still comes back: the reconnect loop subscribes later and
        // the subscriber then receives `.reset`.
        do {
            let channel = try await connection()
            _ = try await RedisConnection.send(["SUBSCRIBE", channelName], on: channel)
        } catch {
            scheduleReconnect()
        }
        return stream
    }

    private func connection() async throws -> any Channel {
        let task = state.withLockedValue { state -> Task<any Channel, any Error> in
            if let existing = state.connection { return existing }
            let created = Task { try await self.open() }
            state.connection = created
            return created
        }
        do {
            return try await task.value
        } catch {
            state.withLockedValue { if $0.connection == task { $0.connection = nil } }
            throw error
        }
    }

    private func open() async throws -> any Channel {
        let channel = try await RedisConnection.connect(to: location, selectDatabase: false, clientName: clientName) { [weak self] name, payload in
            self?.deliver(.message(payload), on: name)
        }
        let names = state.withLockedValue { Array($0.subscribers.keys) }
        for name in names {
            _ = try await RedisConnection.send(["SUBSCRIBE", name], on: channel)
        }
        channel.closeFuture.whenComplete { [weak self] _ in self?.connectionLost() }
        return channel
    }

    private func connectionLost() {
        state.withLockedValue { $0.connection = nil }
        scheduleReconnect()
    }

    /// One reconnect loop at a time, with backoff; it announces `.reset` once subscribed again.
    private func scheduleReconnect() {
        let start = state.withLockedValue { state -> Bool in
            guard !state.isShutDown, !state.reconnecting else { return false }
            state.reconnecting = true
            return true
        }
        guard start else { return }
        Task {
            var delay = Duration.milliseconds(100)
            while !state.withLockedValue({ $0.isShutDown }) {
                try? await Task.sleep(for: delay)
                if (try? await connection()) != nil {
                    state.withLockedValue { $0.reconnecting = false }
                    broadcast(.reset)
                    return
                }
                delay = min(delay * 2, .seconds(2))
            }
            state.withLockedValue { $0.reconnecting = false }
        }
    }

    private func deliver(_ event: SharedStateEvent, on name: String) {
        let targets = state.withLockedValue { Array(($0.subscribers[name] ?? [:]).values) }
        for continuation in targets { continuation.yield(event) }
    }

    private func broadcast(_ event: SharedStateEvent) {
        let targets = state.withLockedValue { $0.subscribers.values.flatMap(\.values) }
        for continuation in targets { continuation.yield(event) }
    }

    func shutdown() async {
        let (task, continuations) = state.withLockedValue { state in
            state.isShutDown = true
            defer {
                state.connection = nil
                state.subscribers = [:]
            }
            return (state.connection, state.subscribers.values.flatMap(\.values))
        }
        for continuation in continuations { continuation.finish() }
        if let channel = try? await task?.value { try? await channel.close() }
    }
}
