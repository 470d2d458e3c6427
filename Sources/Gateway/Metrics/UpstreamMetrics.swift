import Core
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Live latency, error and load figures per upstream (provider + model), recorded from real traffic and health
/// probes and shared by every instance. The request path only touches local memory: attempts add to pending
/// counters, a background loop adds those deltas to shared state every `flushInterval` (one counter per upstream,
/// time bucket and field) and then re-reads the window of the upstreams routing asked about. `stats` answers from
/// that snapshot plus what this instance has not flushed yet, so a lone instance sees its own traffic at once.
public final class UpstreamMetrics: Service, Sendable {
    public struct Target: Hashable, Sendable {
        public let providerId: String
        public let model: String

        public init(providerId: String, model: String) {
            self.providerId = providerId
            self.model = model
        }
    }

    struct BucketKey: Hashable {
        let target: Target
        let bucket: Int64
    }

    public let bucketSeconds: Int64
    public let windowBuckets: Int
    let flushInterval: Duration
    private let sharedState: any SharedState
    private let logger: Logger
    private let pending = NIOLockedValueBox<[BucketKey: MetricBucket]>([:])
    /// Shared figures as last read: per upstream, buckets by index.
    private let snapshot = NIOLockedValueBox<[Target: [Int64: MetricBucket]]>([:])
    /// Upstreams routing asked about, with when (epoch seconds); only these are re-read.
    private let watched = NIOLockedValueBox<[Target: Int64]>([:])
    static let forgetAfterSeconds: Int64 = 600

    public init(
        sharedState: any SharedState, logger: Logger, bucketSeconds: Int64 = 10, windowBuckets: Int = 6, flushInterval: Duration = .seconds(1)
    ) {
        self.sharedState = sharedState
        self.logger = logger
        self.bucketSeconds = bucketSeconds
        self.windowBuckets = windowBuckets
        self.flushInterval = flushInterval
    }

    public var windowSeconds: Int64 { bucketSeconds * Int64(windowBuckets) }

    func currentBucket() -> Int64 { EpochMillis.now() / (bucketSeconds * 1_000) }

    /// Starts recording an attempt (counted as in flight until it finishes).
    public func begin(_ target: Target) -> UpstreamAttempt {
        let bucket = currentBucket()
        add(target, bucket: bucket) { $0.started += 1 }
        return UpstreamAttempt(metrics: self, target: target, bucket: bucket)
    }

    /// A completed observation made outside the proxy (a health probe).
    public func observe(_ target: Target, latency: Duration, succeeded: Bool) {
        let ms = Double(latency.components.seconds) * 1_000 + Double(latency.components.attoseconds) / 1e15
        add(target, bucket: currentBucket()) { bucket in
            bucket.started += 1
            if succeeded { bucket.recordFirstByte(milliseconds: ms) }
            bucket.recordFinish(succeeded ? .succeeded : .failed, milliseconds: ms)
        }
    }

    func add(_ target: Target, bucket: Int64, _ change: (inout MetricBucket) -> Void) {
        pending.withLockedValue { change(&$0[BucketKey(target: target, bucket: bucket), default: MetricBucket()]) }
    }

    /// Marks an upstream as routed to by this instance (its shared figures are then kept fresh here).
    func watch(_ target: Target) {
        watched.withLockedValue { $0[target] = EpochMillis.now() / 1_000 }
    }

    /// The window's figures for one upstream: shared snapshot plus local unflushed counts.
    public func stats(_ target: Target) -> UpstreamStats {
        let now = currentBucket()
        watch(target)
        let oldest = now - Int64(windowBuckets) + 1
        var byAge: [Int: MetricBucket] = [:]
        for (index, bucket) in snapshot.withLockedValue({ $0[target] ?? [:] }) where index >= oldest && index <= now {
            byAge[Int(now - index), default: MetricBucket()].merge(bucket)
        }
        pending.withLockedValue { pending in
            for (key, bucket) in pending where key.target == target && key.bucket >= oldest && key.bucket <= now {
                byAge[Int(now - key.bucket), default: MetricBucket()].merge(bucket)
            }
        }
        return UpstreamStats(buckets: byAge)
    }

    /// Models of a provider with figures here: routed or probed by this instance in the last ten minutes.
    public func models(of providerId: String) -> [String] {
        var models = Set(watched.withLockedValue { $0.keys.filter { $0.providerId == providerId }.map(\.model) })
        pending.withLockedValue { pending in
            for key in pending.keys where key.target.providerId == providerId { models.insert(key.target.model) }
        }
        return models.sorted()
    }

    /// Adds this instance's pending counts to shared state. A failed write is logged and dropped: metrics steer
    /// routing, they are not money.
    func flush() async {
        let batch = pending.withLockedValue { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        let ttl = Duration.seconds(bucketSeconds * Int64(windowBuckets + 2))
        let sharedState = self.sharedState
        let failures = await withTaskGroup(of: Int.self) { group in
            for (key, bucket) in batch {
                for (field, value) in zip(MetricBucket.fieldNames, bucket.values) where value != 0 {
                    let name = Self.stateKey(key.target, bucket: key.bucket, field: field)
                    group.addTask { (try? await sharedState.increment(name, by: value, ttl: ttl)) == nil ? 1 : 0 }
                }
            }
            return await group.reduce(0, +)
        }
        if failures > 0 { logger.warning("could not share some routing metrics", metadata: ["failed_writes": .stringConvertible(failures)]) }
    }

    /// Re-reads the window of every upstream routing asked about recently; forgets the others.
    func refresh() async {
        let nowSeconds = EpochMillis.now() / 1_000
        let targets = watched.withLockedValue { watched in
            watched = watched.filter { nowSeconds - $0.value < Self.forgetAfterSeconds }
            return Array(watched.keys)
        }
        let newest = currentBucket()
        let buckets = (0..<Int64(windowBuckets)).map { newest - $0 }
        var fresh: [Target: [Int64: MetricBucket]] = [:]
        for target in targets {
            let keys = buckets.flatMap { bucket in MetricBucket.fieldNames.map { Self.stateKey(target, bucket: bucket, field: $0) } }
            guard let values = try? await sharedState.getMany(keys) else {
                // Keep what we had rather than routing blind.
                if let previous = snapshot.withLockedValue({ $0[target] }) { fresh[target] = previous }
                continue
            }
            let width = MetricBucket.fieldNames.count
            for (offset, bucket) in buckets.enumerated() {
                let slice = values[(offset * width)..<((offset + 1) * width)].map { Int($0 ?? "") ?? 0 }
                let parsed = MetricBucket(values: slice)
                if !parsed.isEmpty { fresh[target, default: [:]][bucket] = parsed }
            }
        }
        snapshot.withLockedValue { $0 = fresh }
    }

    static func stateKey(_ target: Target, bucket: Int64, field: String) -> String {
        "metrics:\(target.providerId):\(target.model):\(bucket):\(field)"
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await Task.sleep(for: flushInterval) } catch { break }
            await flush()
            await refresh()
        }
        await flush()
    }
}
