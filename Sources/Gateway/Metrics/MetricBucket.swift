/// What one upstream (provider + model) did during one time bucket, counted by the attempt's start time. Every
/// field is a plain counter, so instances add their deltas in shared state and readers sum them.
struct MetricBucket: Sendable, Equatable {
    var started = 0
    var finished = 0
    var succeeded = 0
    var failed = 0
    /// Time to first byte (response head), in whole milliseconds, of attempts that got one.
    var firstByteCount = 0
    var firstByteSum = 0
    var firstByte = LatencyHistogram()
    /// Whole attempt, start to last byte, of attempts that succeeded.
    var totalCount = 0
    var totalSum = 0
    var total = LatencyHistogram()

    var isEmpty: Bool { self == MetricBucket() }

    /// Field names in shared state, in a fixed order (`values` and `init(values:)` use the same one).
    static let fieldNames: [String] =
        ["s", "f", "ok", "err", "tn", "ts", "Tn", "Ts"]
        + (0..<LatencyHistogram.bucketCount).map { "t\($0)" } + (0..<LatencyHistogram.bucketCount).map { "T\($0)" }

    var values: [Int] {
        [started, finished, succeeded, failed, firstByteCount, firstByteSum, totalCount, totalSum] + firstByte.counts + total.counts
    }

    init() {}

    /// From values in `fieldNames` order; missing values count as zero.
    init(values: [Int]) {
        func at(_ index: Int) -> Int { index < values.count ? values[index] : 0 }
        started = at(0)
        finished = at(1)
        succeeded = at(2)
        failed = at(3)
        firstByteCount = at(4)
        firstByteSum = at(5)
        totalCount = at(6)
        totalSum = at(7)
        let histogram = LatencyHistogram.bucketCount
        firstByte.counts = (0..<histogram).map { at(8 + $0) }
        total.counts = (0..<histogram).map { at(8 + histogram + $0) }
    }

    mutating func merge(_ other: MetricBucket) {
        self = MetricBucket(values: zip(values, other.values).map { $0 + $1 })
    }
}
