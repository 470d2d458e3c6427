/// Latencies counted in fixed, doubling buckets (25 ms … 25.6 s, then "longer"), so counts from every instance
/// add up in shared state and a percentile can be read from the sum.
struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in milliseconds; the last bucket holds everything above the last bound.
    static let bounds: [Double] = [25, 50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600]
    static var bucketCount: Int { bounds.count + 1 }

    var counts = [Int](repeating: 0, count: LatencyHistogram.bucketCount)

    static func bucket(forMilliseconds ms: Double) -> Int {
        bounds.firstIndex { ms <= $0 } ?? bounds.count
    }

    mutating func add(milliseconds ms: Double) { counts[Self.bucket(forMilliseconds: ms)] += 1 }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
    }

    var total: Int { counts.reduce(0, +) }

    /// The latency below which `fraction` of the samples fall, interpolated linearly inside its bucket; nil without samples.
    func percentile(_ fraction: Double) -> Double? {
        let total = self.total
        guard total > 0 else { return nil }
        let rank = fraction * Double(total)
        var below = 0
        for (index, count) in counts.enumerated() where count > 0 {
            if Double(below + count) >= rank {
                let lower = index == 0 ? 0 : Self.bounds[index - 1]
                let upper = index < Self.bounds.count ? Self.bounds[index] : lower * 2
                return lower + (upper - lower) * max(0, min(1, (rank - Double(below)) / Double(count)))
            }
            below += count
        }
        return Self.bounds.last.map { $0 * 2 }
    }
}
