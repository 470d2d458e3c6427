import Synchronization

/// One attempt at one upstream, recorded into `UpstreamMetrics` as it goes: started, first byte, finished.
/// Each step counts once, whichever path (answer, failure, stream end) reaches it first.
public final class UpstreamAttempt: Sendable {
    public enum Ending: Sendable {
        case succeeded
        /// Counts against the upstream's reliability (connection error, timeout, 5xx, 429, cut stream).
        case failed
        /// The upstream answered, but the request was the client's problem (400, 404, 422…): neither.
        case neutral
    }

    private let metrics: UpstreamMetrics
    let target: UpstreamMetrics.Target
    let bucket: Int64
    private let started = ContinuousClock.now
    /// Steps taken (`firstByteStep`, `finishedStep`): an atomic stored in the object, where a lock box was a second
    /// allocation per attempt.
    private let steps = Atomic<UInt8>(0)
    private static let firstByteStep: UInt8 = 1
    private static let finishedStep: UInt8 = 2

    init(metrics: UpstreamMetrics, target: UpstreamMetrics.Target, bucket: Int64) {
        self.metrics = metrics
        self.target = target
        self.bucket = bucket
    }

    /// The response head arrived.
    public func firstByte() {
        guard takeStep(Self.firstByteStep) else { return }
        metrics.add(target, bucket: bucket) { $0.recordFirstByte(milliseconds: Self.milliseconds(since: started)) }
    }

    public func finish(_ ending: Ending) {
        guard takeStep(Self.finishedStep) else { return }
        let elapsed = Self.milliseconds(since: started)
        metrics.add(target, bucket: bucket) { $0.recordFinish(ending, milliseconds: elapsed) }
    }

    /// Whether this call took the step (each is taken once).
    private func takeStep(_ step: UInt8) -> Bool {
        steps.bitwiseOr(step, ordering: .relaxed).oldValue & step == 0
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = start.duration(to: .now).components
        return Double(elapsed.seconds) * 1_000 + Double(elapsed.attoseconds) / 1e15
    }
}

extension MetricBucket {
    mutating func recordFirstByte(milliseconds ms: Double) {
        firstByteCount += 1
        firstByteSum += Int(ms.rounded())
        firstByte.add(milliseconds: ms)
    }

    mutating func recordFinish(_ ending: UpstreamAttempt.Ending, milliseconds ms: Double) {
        finished += 1
        switch ending {
        case .succeeded:
            succeeded += 1
            totalCount += 1
            totalSum += Int(ms.rounded())
            total.add(milliseconds: ms)
        case .failed:
            failed += 1
        case .neutral:
            break
        }
    }
}
