import Core
import Foundation
import TestSupport

/// A server with two OpenAI-compatible fakes serving the same model (`p1` with two keys, `p2` with one), a short
/// breaker threshold and default prices.
func withTwoProviders(
    cooldownSeconds: Int = 60, extra: [String: String] = [:],
    _ body: (Deployment, ServerProcess, String, FakeProvider, FakeProvider) async throws -> Void
) async throws {
    let first = try await FakeProvider.start(.openai, models: ["gpt-fake"])
    let second = try await FakeProvider.start(.openai, models: ["gpt-fake"])
    defer { Task { await first.stop(); await second.stop() } }
    try await TestDatabase.withFresh { location in
        let deployment = try Deployment(database: location, extra: [
            "LLM_PROVIDERS": "p1,p2",
            "LLM_PROVIDER_p1_BASE_URL": first.baseURL + "/v1", "LLM_PROVIDER_p1_API_KEY": "sk-first-a,sk-first-b",
            "LLM_PROVIDER_p2_BASE_URL": second.baseURL + "/v1", "LLM_PROVIDER_p2_API_KEY": "sk-second",
            "AIHIGRESS_UNPRICED_MODELS": "default", "AIHIGRESS_DEFAULT_PRICE_INPUT": "1", "AIHIGRESS_DEFAULT_PRICE_OUTPUT": "1",
            "AIHIGRESS_BREAKER_FAILURES": "2", "AIHIGRESS_BREAKER_COOLDOWN_SECONDS": String(cooldownSeconds),
        ].merging(extra) { $1 })
        let (_, key) = try await deployment.organisationWithKey()
        try await deployment.withServer { server in try await body(deployment, server, key, first, second) }
    }
}

/// Waits for the start of a UTC second so a burst stays inside it (QPS budgets are per UTC second).
func atTheStartOfASecond() async throws {
    let millis = EpochMillis.now() % 1000
    if millis > 100 { try await Task.sleep(for: .milliseconds(1000 - millis + 5)) }
}
