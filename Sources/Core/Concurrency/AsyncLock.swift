import NIOConcurrencyHelpers

/// A first-in-first-out async mutex: serialises work on a resource that must not interleave (the single SQLite
/// connection). Taking a free lock does not suspend: an actor here cost four executor hops per database call.
public final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func lock() async {
        if acquire(orQueue: nil) { return }
        await withCheckedContinuation { continuation in
            // Unlocked meanwhile: take it now rather than wait for an unlock that will not come.
            if acquire(orQueue: continuation) { continuation.resume() }
        }
    }

    /// Takes the lock if it is free; otherwise queues `waiter`, if any, for `unlock` to hand it over.
    private func acquire(orQueue waiter: CheckedContinuation<Void, Never>?) -> Bool {
        state.withLockedValue { state in
            guard state.locked else {
                state.locked = true
                return true
            }
            if let waiter { state.waiters.append(waiter) }
            return false
        }
    }

    /// Hands the lock to the longest waiter, or frees it.
    public func unlock() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    public func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }
}
