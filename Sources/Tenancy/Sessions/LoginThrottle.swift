import Core
import HTTPTypes

/// Locks an account for one client address after repeated failed logins, with exponentially growing locks.
/// Counted per (email, address) in shared state, so every instance sees the same count, and an attacker
/// hammering one account from one address cannot lock its owner out elsewhere.
public struct LoginThrottle: Sendable {
    private let sharedState: any SharedState
    private let keyRing: KeyRing
    private let threshold: Int
    private let base: Duration
    private let maximum: Duration
    /// Failures are forgotten this long after the last one.
    private let window: Duration = .seconds(3600)

    public init(sharedState: any SharedState, keyRing: KeyRing, settings: AuthSettings) {
        self.sharedState = sharedState
        self.keyRing = keyRing
        self.threshold = settings.lockoutThreshold
        self.base = settings.lockoutBase
        self.maximum = settings.lockoutMaximum
    }

    /// 429 with Retry-After while locked.
    public func check(email: String, ip: String?) async throws {
        let key = self.key(email: email, ip: ip)
        guard try await sharedState.get(key + ":lock") != nil else { return }
        let remaining = try await sharedState.timeToLive(key + ":lock") ?? base
        throw Self.locked(retryAfter: remaining)
    }

    /// Records a failure; the one that reaches the threshold (and each after it) sets a lock.
    /// Returns whether this failure locked the account for the client.
    @discardableResult
    public func failed(email: String, ip: String?) async throws -> Bool {
        let key = self.key(email: email, ip: ip)
        let failures = try await sharedState.increment(key + ":fails", by: 1, ttl: window)
        guard failures >= threshold else { return false }
        let doublings = min(failures - threshold, 30)
        let seconds = min(Double(base.components.seconds) * Double(1 << doublings), Double(maximum.components.seconds))
        try await sharedState.set(key + ":lock", "1", ttl: .seconds(Int64(seconds)))
        return true
    }

    public func succeeded(email: String, ip: String?) async throws {
        let key = self.key(email: email, ip: ip)
        try await sharedState.delete(key + ":fails")
        try await sharedState.delete(key + ":lock")
    }

    private func key(email: String, ip: String?) -> String {
        "login:" + keyRing.hash("\(email)|\(ip ?? "-")", purpose: .tokenHash).prefix(32)
    }

    static func locked(retryAfter: Duration) -> APIError {
        let seconds = max(1, Int(retryAfter.seconds.rounded(.up)))
        var error = APIError(
            .tooManyRequests, .rateLimited, "too many failed sign-in attempts; try again in \(seconds) seconds", code: "login_locked"
        )
        error.headers[.retryAfter] = String(seconds)
        return error
    }
}
