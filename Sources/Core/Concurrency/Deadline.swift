/// Thrown when an operation did not finish within its time budget.
public struct TimeoutError: Error, CustomStringConvertible, Sendable {
    public let what: String
    public let after: Duration
    public var description: String { "\(what) timed out after \(after)" }
}

/// Runs `body`, cancelling it and throwing `TimeoutError` when it outlives `limit`.
public func withTimeout<T: Sendable>(
    _ limit: Duration,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(what: what, after: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
