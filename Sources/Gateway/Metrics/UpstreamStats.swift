import Core

/// Live figures for one upstream (provider + model) over the metrics window, summed across instances.
public struct UpstreamStats: Sendable, Equatable {
    /// Attempts that ended with an answer or a failure (client errors such as 400 are neither).
    public var requests = 0
    public var failures = 0
    public var inFlight = 0
    /// Milliseconds; nil until there is a sample.
    public var firstByteEWMA: Double?
    public var firstByteP95: Double?
    public var totalEWMA: Double?
    public var totalP95: Double?

    public var errorRate: Double { requests == 0 ? 0 : Double(failures) / Double(requests) }

    /// Each bucket weighs half as much as the next newer one: an exponentially weighted moving average with a
    /// half-life of one bucket, computed from counters that add up across instances.
    static let decayPerBucket = 0.5

    /// From buckets keyed by age (0 = the current bucket).
    init(buckets: [Int: MetricBucket]) {
        var firstByte = LatencyHistogram()
        var total = LatencyHistogram()
        var weighted = (firstByteSum: 0.0, firstByteCount: 0.0, totalSum: 0.0, totalCount: 0.0)
        for (age, bucket) in buckets {
            requests += bucket.succeeded + bucket.failed
            failures += bucket.failed
            inFlight += max(0, bucket.started - bucket.finished)
            firstByte.merge(bucket.firstByte)
            total.merge(bucket.total)
            let weight = Self.pow(Self.decayPerBucket, age)
            weighted.firstByteSum += weight * Double(bucket.firstByteSum)
            weighted.firstByteCount += weight * Double(bucket.firstByteCount)
            weighted.totalSum += weight * Double(bucket.totalSum)
            weighted.totalCount += weight * Double(bucket.totalCount)
        }
        firstByteEWMA = weighted.firstByteCount > 0 ? weighted.firstByteSum / weighted.firstByteCount : nil
        totalEWMA = weighted.totalCount > 0 ? weighted.totalSum / weighted.totalCount : nil
        firstByteP95 = firstByte.percentile(0.95)
        totalP95 = total.percentile(0.95)
    }

    public init() {}

    private static func pow(_ base: Double, _ exponent: Int) -> Double {
        (0..<max(0, exponent)).reduce(1) { value, _ in value * base }
    }

    public var json: JSONValue {
        func ms(_ value: Double?) -> JSONValue { value.map { .double(($0 * 10).rounded() / 10) } ?? .null }
        return .object([
            "requests": .int(Int64(requests)), "failures": .int(Int64(failures)),
            "error_rate": .double((errorRate * 10_000).rounded() / 10_000), "in_flight": .int(Int64(inFlight)),
            "ttfb_ms": .object(["ewma": ms(firstByteEWMA), "p95": ms(firstByteP95)]),
            "total_ms": .object(["ewma": ms(totalEWMA), "p95": ms(totalP95)]),
        ])
    }
}
