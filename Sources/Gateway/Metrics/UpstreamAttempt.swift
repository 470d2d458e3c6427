import NIOConcurrencyHelpers

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
    private let steps = NIOLockedValueBox((firstByte: false, finished: false))

    init(metrics: UpstreamMetrics, target: UpstreamMetrics.Target, bucket: Int64) {
        self.metrics = metrics
        self.target = target
        self.bucket = bucket
    }

    /// The response head arrived.
    public func firstByte() {
        guard steps.withLockedValue({ steps in defer { steps.firstByte = true }; return !steps.firstByte }) else { return }
        metrics.add(target, bucket: bucket) { $0.recordFirstByte(milliseconds: Self.milliseconds(since: started)) }
    }

    public func finish(_ ending: Ending) {
        guard steps.withLockedValue({ steps in defer { steps.finished = true }; return !steps.finished }) else { return }
        let elapsed = Self.milliseconds(since: started)
        metrics.add(target, bucket: bucket) { $0.recordFinish(ending, milliseconds: elapsed) }
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
