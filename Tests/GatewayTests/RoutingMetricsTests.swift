import Core
import Logging
import Testing
import TestSupport
@testable import Gateway

/// Live metrics and the scoring formula, without a server: histogram percentiles, the bucketed moving average,
/// sharing through shared state (both backends in the external pass), and how each signal moves a score.
@Suite struct RoutingMetricsTests {
    @Test func percentilesComeFromTheBucketHoldingTheRank() {
        var histogram = LatencyHistogram()
        for _ in 0..<95 { histogram.add(milliseconds: 10) }
        for _ in 0..<5 { histogram.add(milliseconds: 3_000) }
        #expect(histogram.total == 100)
        let p95 = histogram.percentile(0.95) ?? -1
        #expect((0...25).contains(p95), "\(p95)")
        let p99 = histogram.percentile(0.99) ?? 0
        #expect(p99 > 1_600 && p99 <= 3_200, "\(p99)")
        #expect(LatencyHistogram().percentile(0.95) == nil)
        #expect(LatencyHistogram.bucket(forMilliseconds: 100_000) == LatencyHistogram.bounds.count)
    }

    @Test func theMovingAverageHalvesTheWeightOfEachOlderBucket() {
        var recent = MetricBucket()
        var older = MetricBucket()
        for _ in 0..<10 {
            recent.started += 1
            recent.recordFirstByte(milliseconds: 100)
            recent.recordFinish(.succeeded, milliseconds: 100)
            older.started += 1
            older.recordFirstByte(milliseconds: 300)
            older.recordFinish(.failed, milliseconds: 300)
        }
        older.started += 2  // two attempts still running
        let stats = UpstreamStats(buckets: [0: recent, 1: older])
        // (1 × 10 × 100 + 0.5 × 10 × 300) / (10 + 0.5 × 10)
        #expect(abs((stats.firstByteEWMA ?? 0) - 2_500.0 / 15) < 0.01)
        #expect(stats.requests == 20 && stats.failures == 10 && stats.inFlight == 2)
        #expect(stats.totalEWMA == 100, "only successes have a total latency")
        #expect(MetricBucket(values: recent.values) == recent)
    }

    @Test(arguments: TestSharedState.Backend.allCases) func figuresRecordedOnOneInstanceReachAnother(_ backend: TestSharedState.Backend) async throws {
        guard let state = try TestSharedState.make(backend) else { return }
        let logger = Logger(label: "test")
        let a = UpstreamMetrics(sharedState: state, logger: logger)
        let b = UpstreamMetrics(sharedState: state, logger: logger)
        let target = UpstreamMetrics.Target(providerId: "p", model: "m")
        #expect(b.stats(target) == UpstreamStats())  // b now watches the upstream
        let done = a.begin(target)
        done.firstByte()
        done.finish(.succeeded)
        done.finish(.failed)  // a second ending of the same attempt is ignored
        let failed = a.begin(target)
        failed.finish(.failed)
        _ = a.begin(target)  // still in flight
        #expect(a.stats(target).requests == 2, "the recording instance sees its own traffic before any flush")
        await a.flush()
        await b.refresh()
        let seen = b.stats(target)
        #expect(seen.requests == 2 && seen.failures == 1 && seen.inFlight == 1, "\(seen)")
        #expect(seen.firstByteEWMA != nil)
        await state.shutdown()
    }

    func providers() throws -> [ProviderSettings] {
        try GatewayEnvironment.load(from: [
            "LLM_PROVIDERS": "fast,slow",
            "LLM_PROVIDER_fast_BASE_URL": "http://127.0.0.1:1", "LLM_PROVIDER_fast_API_KEY": "k1",
            "LLM_PROVIDER_slow_BASE_URL": "http://127.0.0.1:2", "LLM_PROVIDER_slow_API_KEY": "k2",
        ]).providers
    }

    func scored(_ stats: [UpstreamStats], prices: [Int64?], strategy: RoutingStrategy) throws -> [ScoredCandidate] {
        var list = try zip(providers(), zip(stats, prices)).map { provider, figures in
            ScoredCandidate(candidate: Candidate(provider: provider, upstreamModel: "m"), stats: figures.0, blendedPrice: figures.1)
        }
        RouteScore.score(&list, strategy: strategy)
        return list
    }

    func measured(ttfb: Double, requests: Int = 10, failures: Int = 0, inFlight: Int = 0) -> UpstreamStats {
        var stats = UpstreamStats()
        stats.firstByteEWMA = ttfb
        stats.firstByteP95 = ttfb
        stats.requests = requests
        stats.failures = failures
        stats.inFlight = inFlight
        return stats
    }

    @Test func eachSignalMovesTheScoreItShould() throws {
        let latency = try scored([measured(ttfb: 50), measured(ttfb: 450)], prices: [nil, nil], strategy: .latency)
        #expect(latency[0].components.latency == 1)
        #expect(abs(latency[1].components.latency - 0.2) < 1e-9, "(50 + 50) / (450 + 50)")
        #expect(latency[0].score > latency[1].score)

        let flaky = try scored([measured(ttfb: 50), measured(ttfb: 50, failures: 5)], prices: [nil, nil], strategy: .reliability)
        #expect(abs(flaky[1].components.reliability - (1 - 5.0 / 11)) < 1e-9)
        #expect(flaky[0].score > flaky[1].score)

        let pricey = try scored([measured(ttfb: 50), measured(ttfb: 50)], prices: [1_000, 4_000], strategy: .cost)
        #expect(pricey[1].components.cost == 0.25)
        #expect(pricey[0].score > pricey[1].score)

        let busy = try scored([measured(ttfb: 50), measured(ttfb: 50, inFlight: 9)], prices: [nil, nil], strategy: .balanced)
        #expect(busy[1].components.load == 0.1)
        #expect(busy[0].score > busy[1].score)

        // Unmeasured upstreams count as typical, so they are tried; `weighted` ignores every signal.
        let fresh = try scored([measured(ttfb: 50), UpstreamStats()], prices: [nil, nil], strategy: .latency)
        #expect(fresh[1].components.latency > 0 && fresh[1].components.latency <= 1)
        let weighted = try scored([measured(ttfb: 50), measured(ttfb: 5_000, failures: 10)], prices: [1, 100], strategy: .weighted)
        #expect(weighted.allSatisfy { $0.score == 1 })
    }
}

/// The key pool's memory of recent failures.
@Suite struct RecentKeyFailuresTests {
    @Test func aKeyThatJustFailedGetsLessOfThePoolAndRecovers() async throws {
        let recent = RecentKeyFailures(halfLifeSeconds: 60)  // no fading while the draws run, however slow the machine
        let a = UpstreamKey(id: "a", label: "a", secret: "x")
        let b = UpstreamKey(id: "b", label: "b", secret: "y")
        for _ in 0..<3 { recent.record("a") }
        #expect(recent.penalty("a") > 2.9 && recent.penalty("b") == 0)
        let picks = (0..<2_000).map { _ in CallPreparation.pickKey([a, b], weight: recent.weight).id }
        let shareA = Double(picks.filter { $0 == "a" }.count) / 2_000
        // Weight 1 / (1 + 3) against 1: 20 %; without the penalty it would be 50 %.
        #expect(shareA < 0.3, "\(shareA)")

        let fading = RecentKeyFailures(halfLifeSeconds: 0.1)
        fading.record("a")
        try await Task.sleep(for: .seconds(2))  // twenty half-lives
        #expect(fading.penalty("a") < 0.001)
    }
}
