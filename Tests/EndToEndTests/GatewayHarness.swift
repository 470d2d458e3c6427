import Core
import Foundation
import TestSupport

/// A gateway server with one fake provider of each kind: `gpt-fake` (OpenAI, discovered), `claude-fake`
/// (Anthropic, static list) and `gemini-fake` (Gemini, discovered).
struct GatewayHarness {
    let openai: FakeProvider
    let anthropic: FakeProvider
    let gemini: FakeProvider
    let deployment: Deployment
    let server: ServerProcess
    let key: String
    let location: DatabaseLocation

    static let models: [FakeProvider.Kind: String] = [.openai: "gpt-fake", .anthropic: "claude-fake", .gemini: "gemini-fake"]

    var auth: [(String, String)] { [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")] }
    var base: String { server.baseURL }

    func fake(_ kind: FakeProvider.Kind) -> FakeProvider {
        switch kind {
        case .openai: openai
        case .anthropic: anthropic
        case .gemini: gemini
        }
    }

    static func withRunning<T>(
        openAIServesResponses: Bool = false, extra: [String: String] = [:], _ body: (GatewayHarness) async throws -> T
    ) async throws -> T {
        let openai = try await FakeProvider.start(.openai, models: ["gpt-fake", "text-embedding-fake", "image-fake"], servesResponses: openAIServesResponses)
        let anthropic = try await FakeProvider.start(.anthropic, models: ["claude-fake"])
        let gemini = try await FakeProvider.start(.gemini, models: ["gemini-fake"])
        defer {
            Task {
                await openai.stop()
                await anthropic.stop()
                await gemini.stop()
            }
        }
        return try await TestDatabase.withFresh { location in
            var env: [String: String] = [
                "LLM_PROVIDERS": "oa,an,ge",
                "LLM_PROVIDER_oa_BASE_URL": openai.baseURL + "/v1",
                "LLM_PROVIDER_oa_API_KEY": "sk-fake-openai-1,sk-fake-openai-2",
                "LLM_PROVIDER_an_BASE_URL": anthropic.baseURL,
                "LLM_PROVIDER_an_API_KEY": "sk-ant-fake",
                "LLM_PROVIDER_an_KIND": "anthropic",
                "LLM_PROVIDER_an_MODELS": "claude-fake",
                "LLM_PROVIDER_ge_BASE_URL": gemini.baseURL,
                "LLM_PROVIDER_ge_API_KEY": "gemini-fake-key",
                "LLM_PROVIDER_ge_KIND": "gemini",
                // The fake models are in no price list: charge them the default price (billing tests set their own).
                "AIHIGRESS_UNPRICED_MODELS": "default",
                "AIHIGRESS_DEFAULT_PRICE_INPUT": "1",
                "AIHIGRESS_DEFAULT_PRICE_OUTPUT": "2",
                // Background health probes would add requests the fakes count (tests that want them turn them on).
                "AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS": "0",
            ]
            if openAIServesResponses { env["LLM_PROVIDER_oa_RESPONSES_PATH"] = "/v1/responses" }
            let deployment = try Deployment(database: location, extra: env.merging(extra) { $1 })
            let (_, key) = try await deployment.organisationWithKey()
            return try await deployment.withServer { server in
                try await body(GatewayHarness(
                    openai: openai, anthropic: anthropic, gemini: gemini, deployment: deployment, server: server, key: key, location: location
                ))
            }
        }
    }

    /// Waits until the server has logged `count` usage lines (a stream's line follows its last byte).
    func usageLines(atLeast count: Int) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while usageLines.count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return usageLines
    }

    /// Usage lines the server logged (one per proxied request).
    var usageLines: [[String: Any]] {
        server.logLines.filter { $0.contains("\"msg\":\"usage\"") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
