import Core
import Testing
@testable import Gateway

@Suite struct CircuitBreakerTests {
    func breaker(_ state: any SharedState = InProcessSharedState(), cooldownMillis: Int64 = 200) -> CircuitBreaker {
        CircuitBreaker(
            sharedState: state, settings: BreakerSettings(failureThreshold: 2, cooldown: .milliseconds(cooldownMillis), maximumCooldown: .seconds(1)),
            refreshInterval: .zero
        )
    }

    @Test func opensAfterTheThresholdThenLetsExactlyOneTrialThrough() async throws {
        let state = InProcessSharedState()
        let a = breaker(state)
        let b = breaker(state)  // a second instance on the same shared state
        let subject = CircuitBreaker.Subject.provider("p")
        #expect(await a.standing(subject, trialLifetime: .seconds(5)) == .closed)
        #expect(await a.recordFailure(subject) == nil)
        #expect(await a.recordFailure(subject) == .milliseconds(200))
        #expect(await b.standing(subject, trialLifetime: .seconds(5)) == .coolingDown, "the other instance sees the open circuit")
        try await Task.sleep(for: .milliseconds(250))
        #expect(await b.standing(subject, trialLifetime: .seconds(5)) == .trial)
        #expect(await a.standing(subject, trialLifetime: .seconds(5)) == .coolingDown, "only one trial at a time")
        await b.recordSuccess(subject)
        #expect(await a.standing(subject, trialLifetime: .seconds(5)) == .closed)
    }

    @Test func aFailedTrialReopensForLongerUpToTheCap() async throws {
        let a = breaker()
        let subject = CircuitBreaker.Subject.key("k")
        _ = await a.recordFailure(subject)
        #expect(await a.recordFailure(subject) == .milliseconds(200))
        try await Task.sleep(for: .milliseconds(250))
        #expect(await a.standing(subject, trialLifetime: .seconds(5)) == .trial)
        #expect(await a.recordFailure(subject) == .milliseconds(400), "second trip doubles the cooldown")
        let capped = breaker(cooldownMillis: 800)
        _ = await capped.recordFailure(.key("c"))
        _ = await capped.recordFailure(.key("c"))
        #expect(await capped.recordFailure(.key("c")) == .seconds(1))
    }

    @Test func retryAfterOpensAKeyAtOnceForAtLeastThatLong() async throws {
        let a = breaker()
        let subject = CircuitBreaker.Subject.key("limited")
        #expect(await a.recordFailure(subject, retryAfter: .seconds(3)) == .seconds(3))
        #expect(await a.standing(subject, trialLifetime: .seconds(5)) == .coolingDown)
        let left = try #require(await a.remainingCooldown(subject))
        #expect(left > .seconds(2) && left <= .seconds(3))
    }

    @Test func healthyTrafficNeedsNoWrites() async throws {
        let a = breaker()
        let subject = CircuitBreaker.Subject.provider("healthy")
        await a.recordSuccess(subject)
        #expect(await a.standing(subject, trialLifetime: .seconds(1)) == .closed)
        // A success after a counted failure clears the count: the next failure starts from one again.
        _ = await a.recordFailure(subject)
        await a.recordSuccess(subject)
        #expect(await a.recordFailure(subject) == nil)
    }
}
