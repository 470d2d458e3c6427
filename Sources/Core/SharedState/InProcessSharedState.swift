import Foundation

/// The single-instance shared state: a dictionary with expiry and in-memory publish/subscribe.
public actor InProcessSharedState: SharedState {
    private struct Entry {
        var value: String
        var expiresAt: ContinuousClock.Instant?
    }

    private var entries: [String: Entry] = [:]
    private var subscribers: [String: [UUID: AsyncStream<SharedStateEvent>.Continuation]] = [:]
    private var writesSinceSweep = 0
    private let clock = ContinuousClock()

    public init() {}

    private func live(_ key: String) -> Entry? {
        guard let entry = entries[key] else { return nil }
        if let expiry = entry.expiresAt, expiry <= clock.now {
            entries[key] = nil
            return nil
        }
        return entry
    }

    private func expiry(_ ttl: Duration?) -> ContinuousClock.Instant? {
        ttl.map { clock.now.advanced(by: $0) }
    }

    /// Expired keys are dropped when read and, so memory stays bounded, in a sweep every few thousand writes.
    private func store(_ key: String, _ entry: Entry) {
        entries[key] = entry
        writesSinceSweep += 1
        if writesSinceSweep >= 4096 {
            writesSinceSweep = 0
            let now = clock.now
            entries = entries.filter { $0.value.expiresAt.map { $0 > now } ?? true }
        }
    }

    public func get(_ key: String) -> String? { live(key)?.value }

    public func getMany(_ keys: [String]) -> [String?] { keys.map { live($0)?.value } }

    public func set(_ key: String, _ value: String, ttl: Duration?) {
        store(key, Entry(value: value, expiresAt: expiry(ttl)))
    }

    public func setIfAbsent(_ key: String, _ value: String, ttl: Duration?) -> Bool {
        if live(key) != nil { return false }
        store(key, Entry(value: value, expiresAt: expiry(ttl)))
        return true
    }

    @discardableResult
    public func delete(_ key: String) -> Bool {
        let existed = live(key) != nil
        entries[key] = nil
        return existed
    }

    public func increment(_ key: String, by delta: Int, ttl: Duration?) throws -> Int {
        if let entry = live(key) {
            guard let current = Int(entry.value) else { throw SharedStateError("value at \(key) is not an integer") }
            let next = current + delta
            store(key, Entry(value: String(next), expiresAt: entry.expiresAt ?? expiry(ttl)))
            return next
        }
        store(key, Entry(value: String(delta), expiresAt: expiry(ttl)))
        return delta
    }

    public func incrementIfWithin(_ key: String, by delta: Int, limit: Int, ttl: Duration?) throws -> BoundedIncrement {
        let entry = live(key)
        guard let current = Int(entry?.value ?? "0") else { throw SharedStateError("value at \(key) is not an integer") }
        if delta > 0 && current + delta > limit { return BoundedIncrement(applied: false, value: current) }
        let next = current + delta
        store(key, Entry(value: String(next), expiresAt: entry?.expiresAt ?? expiry(ttl)))
        return BoundedIncrement(applied: true, value: next)
    }

    public func compareAndSet(_ key: String, expected: String?, new: String?, ttl: Duration?) -> Bool {
        guard live(key)?.value == expected else { return false }
        if let new {
            store(key, Entry(value: new, expiresAt: expiry(ttl)))
        } else {
            entries[key] = nil
        }
        return true
    }

    public func timeToLive(_ key: String) -> Duration? {
        guard let expiry = live(key)?.expiresAt else { return nil }
        return clock.now.duration(to: expiry)
    }

    public func publish(_ channel: String, _ message: String) {
        for continuation in subscribers[channel, default: [:]].values {
            continuation.yield(.message(message))
        }
    }

    public func subscribe(_ channel: String) -> AsyncStream<SharedStateEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: SharedStateEvent.self, bufferingPolicy: .bufferingNewest(1024))
        subscribers[channel, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(channel, id) }
        }
        return stream
    }

    private func unsubscribe(_ channel: String, _ id: UUID) {
        subscribers[channel]?[id] = nil
    }

    public func ping() {}

    public func shutdown() {
        for channel in subscribers.values {
            for continuation in channel.values { continuation.finish() }
        }
        subscribers = [:]
    }
}
