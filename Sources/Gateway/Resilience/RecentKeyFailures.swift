import NIOConcurrencyHelpers

/// Failures of each upstream key seen by this instance, fading with a 30 s half-life. The key pool divides a key's
/// weight by 1 + this figure, so a key that just failed (429, 5xx, timeout) gets less traffic well before its
/// circuit trips, and its full share back once it has been quiet for a minute or two.
final class RecentKeyFailures: Sendable {
    private let halfLifeSeconds: Double
    private let table = NIOLockedValueBox<[String: (value: Double, at: ContinuousClock.Instant)]>([:])

    init(halfLifeSeconds: Double = 30) {
        self.halfLifeSeconds = halfLifeSeconds
    }

    func record(_ keyId: String) {
        let now = ContinuousClock.now
        table.withLockedValue { table in
            table[keyId] = (decayed(table[keyId], now: now) + 1, now)
        }
    }

    /// The faded failure count (0 for a key with none).
    func penalty(_ keyId: String) -> Double {
        let now = ContinuousClock.now
        return table.withLockedValue { decayed($0[keyId], now: now) }
    }

    /// A key's weight in the pool's draw.
    func weight(of key: UpstreamKey) -> Double {
        max(key.weight, 0) / (1 + penalty(key.id))
    }

    private func decayed(_ entry: (value: Double, at: ContinuousClock.Instant)?, now: ContinuousClock.Instant) -> Double {
        guard let entry else { return 0 }
        let elapsed = entry.at.duration(to: now).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return entry.value * pow(0.5, seconds / halfLifeSeconds)
    }
}

import Foundation
