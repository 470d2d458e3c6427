import Core
import Testing
@testable import Gateway

@Suite struct GatewayEnvironmentTests {
    @Test func readsProvidersWithDefaultsAndOverrides() throws {
        let env = [
            "LLM_PROVIDERS": "alpha, Beta",
            "LLM_PROVIDER_alpha_BASE_URL": "https://api.openai.com/v1",
            "LLM_PROVIDER_alpha_API_KEY": "sk-one, sk-two",
            "LLM_PROVIDER_Beta_BASE_URL": "http://127.0.0.1:9000",
            "LLM_PROVIDER_Beta_API_KEY": "k",
            "LLM_PROVIDER_Beta_KIND": "anthropic",
            "LLM_PROVIDER_Beta_WEIGHT": "2.5",
            "LLM_PROVIDER_Beta_MODELS": "claude-a, claude-b",
            "LLM_PROVIDER_Beta_RETRYABLE_STATUS_CODES": "429,500-502",
            "LLM_PROVIDER_Beta_HEADERS": #"{"X-Team":"blue"}"#,
            "LLM_PROVIDER_Beta_MAX_QPS": "7",
            "LLM_PROVIDER_Beta_FIRST_BYTE_TIMEOUT": "1.5",
        ]
        let loaded = try GatewayEnvironment.load(from: env)
        #expect(loaded.providers.map(\.slug) == ["alpha", "beta"])
        let alpha = loaded.providers[0]
        #expect(alpha.kind == .openai)
        #expect(alpha.keys.map(\.secret) == ["sk-one", "sk-two"])
        #expect(alpha.responsesPath == "/v1/responses", "api.openai.com speaks the Responses API")
        #expect(alpha.staticModels == nil)
        #expect(alpha.retryableStatusCodes == [429, 500, 502, 503, 504])
        let beta = loaded.providers[1]
        #expect(beta.kind == .anthropic)
        #expect(beta.weight == 2.5)
        #expect(beta.staticModels == ["claude-a", "claude-b"])
        #expect(beta.retryableStatusCodes == [429, 500, 501, 502])
        #expect(beta.extraHeaders == ["x-team": "blue"])
        #expect(beta.maxQPS == 7)
        #expect(beta.firstByteTimeout == .milliseconds(1500))
        #expect(beta.authHeader == "x-api-key")
        #expect(beta.responsesPath == nil)
        #expect(loaded.browserHeaders.isEmpty)
    }

    @Test func incompleteProvidersAreNamedTogether() {
        let env = [
            "LLM_PROVIDERS": "a,b,a",
            "LLM_PROVIDER_a_BASE_URL": "ftp://x",
            "LLM_PROVIDER_b_API_KEY": "k",
            "LLM_PROVIDER_b_KIND": "cohere",
            "LLM_PROVIDER_b_HEADERS": "[1]",
            "LLM_PROVIDER_b_RETRYABLE_STATUS_CODES": "5xx",
        ]
        let error = #expect(throws: ConfigError.self) { try GatewayEnvironment.load(from: env) }
        let text = error?.description ?? ""
        for name in [
            "LLM_PROVIDER_a_BASE_URL", "LLM_PROVIDER_a_API_KEY", "LLM_PROVIDER_b_BASE_URL", "LLM_PROVIDER_b_KIND",
            "LLM_PROVIDER_b_HEADERS", "LLM_PROVIDER_b_RETRYABLE_STATUS_CODES", "listed twice",
        ] {
            #expect(text.contains(name), "\(name) missing from \(text)")
        }
    }

    @Test func billingFactorsAreReadExactlyAndBadOnesNamed() throws {
        let base = ["LLM_PROVIDERS": "a", "LLM_PROVIDER_a_BASE_URL": "http://127.0.0.1:9", "LLM_PROVIDER_a_API_KEY": "k"]
        #expect(try GatewayEnvironment.load(from: base).providers[0].billingFactorBasisPoints == 10_000)
        let scaled = try GatewayEnvironment.load(from: base.merging(["LLM_PROVIDER_a_BILLING_FACTOR": "1.2345"]) { $1 })
        #expect(scaled.providers[0].billingFactorBasisPoints == 12_345)
        for bad in ["0", "-1", "1.23456", "abc", "101"] {
            #expect(throws: ConfigError.self, "\(bad)") {
                try GatewayEnvironment.load(from: base.merging(["LLM_PROVIDER_a_BILLING_FACTOR": bad]) { $1 })
            }
        }
        // Aliases are alias=model pairs; anything else is named.
        let aliased = try GatewayEnvironment.load(from: base.merging(["LLM_PROVIDER_a_MODEL_ALIASES": "fast = gpt-4o-mini, smart=gpt-4o"]) { $1 })
        #expect(aliased.providers[0].modelAliases == ["fast": "gpt-4o-mini", "smart": "gpt-4o"])
        for bad in ["fast", "=x", "a/b=c", "fast="] {
            #expect(throws: ConfigError.self, "\(bad)") { try GatewayEnvironment.load(from: base.merging(["LLM_PROVIDER_a_MODEL_ALIASES": bad]) { $1 }) }
        }
        // Breaker settings are validated with everything else.
        #expect(throws: ConfigError.self) { try GatewayEnvironment.load(from: base.merging(["AIHIGRESS_BREAKER_FAILURES": "0"]) { $1 }) }
    }

    @Test func routingAndProbeSettingsAreReadAndBadOnesNamedTogether() throws {
        let loaded = try GatewayEnvironment.load(from: [
            "AIHIGRESS_ROUTING_STRATEGY": "Latency", "AIHIGRESS_SESSION_CONTEXT_TURNS": "0", "AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS": "0",
        ])
        #expect(loaded.routing.defaultStrategy == .latency)
        #expect(loaded.routing.contextTurns == 0)
        #expect(loaded.healthProbes.interval == nil)
        #expect(try GatewayEnvironment.load(from: [:]).routing == RoutingSettings())
        let error = #expect(throws: ConfigError.self) {
            try GatewayEnvironment.load(from: [
                "AIHIGRESS_ROUTING_STRATEGY": "fastest", "AIHIGRESS_SESSION_CONTEXT_CHARS": "5", "AIHIGRESS_HEALTH_PROBE_FAILURES": "x",
            ])
        }
        let text = error?.description ?? ""
        for name in ["AIHIGRESS_ROUTING_STRATEGY", "AIHIGRESS_SESSION_CONTEXT_CHARS", "AIHIGRESS_HEALTH_PROBE_FAILURES"] {
            #expect(text.contains(name), "\(name) missing from \(text)")
        }
    }

    @Test func browserMaskAddsHeaders() throws {
        let loaded = try GatewayEnvironment.load(from: ["MASK_AS_BROWSER": "true", "MASK_ORIGIN": "https://chat.example"])
        #expect(loaded.browserHeaders["user-agent"]?.contains("Mozilla") == true)
        #expect(loaded.browserHeaders["origin"] == "https://chat.example")
    }

    @Test func statusCodeLists() {
        #expect(StatusCodeList.parse("429, 500-502") == [429, 500, 501, 502])
        for bad in ["", "abc", "600", "502-500", "1-2-3"] { #expect(StatusCodeList.parse(bad) == nil, "\(bad)") }
    }
}

@Suite struct UpstreamRequestTests {
    private func provider(_ base: String, kind: ProviderKind = .openai, extra: [String: String] = [:]) throws -> ProviderSettings {
        let env = ["LLM_PROVIDERS": "p", "LLM_PROVIDER_p_BASE_URL": base, "LLM_PROVIDER_p_API_KEY": "sk-secret", "LLM_PROVIDER_p_KIND": kind.rawValue]
        return try GatewayEnvironment.load(from: env.merging(extra) { _, new in new }).providers[0]
    }

    @Test func urlsAcceptBaseURLsWithOrWithoutVersion() throws {
        let builder = UpstreamRequestBuilder(browserHeaders: [:])
        #expect(builder.url(try provider("https://api.example.com/v1/"), path: "/v1/chat/completions") == "https://api.example.com/v1/chat/completions")
        #expect(builder.url(try provider("https://api.example.com"), path: "/v1/chat/completions") == "https://api.example.com/v1/chat/completions")
        #expect(builder.url(try provider("https://gw.example.com/openai"), path: "/v1/chat/completions") == "https://gw.example.com/openai/v1/chat/completions")
        #expect(UpstreamRequestBuilder.geminiPath(model: "gemini-2.0-flash", stream: true) == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
        #expect(UpstreamRequestBuilder.geminiPath(model: "../x?y", stream: false) == "/v1beta/models/..%2Fx%3Fy:generateContent")
    }

    @Test func authHeadersFollowTheProviderKindAndExtraHeadersWin() throws {
        let builder = UpstreamRequestBuilder(browserHeaders: ["user-agent": "Browser"])
        let openai = try provider("https://a.example")
        let key = openai.keys[0]
        let h = builder.headers(openai, key: key, stream: true)
        #expect(h.first(name: "authorization") == "Bearer sk-secret")
        #expect(h.first(name: "accept") == "text/event-stream")
        #expect(h.first(name: "user-agent") == "Browser")
        let anthropic = try provider("https://b.example", kind: .anthropic)
        let ha = builder.headers(anthropic, key: key, stream: false, passthrough: [("anthropic-beta", "tools-2024")])
        #expect(ha.first(name: "x-api-key") == "sk-secret")
        #expect(ha.first(name: "anthropic-version") == "2023-06-01")
        #expect(ha.first(name: "anthropic-beta") == "tools-2024")
        #expect(ha.first(name: "authorization") == nil)
        let azure = try provider(
            "https://a.example", extra: ["LLM_PROVIDER_p_AUTH_HEADER": "api-key", "LLM_PROVIDER_p_HEADERS": #"{"user-agent":"Custom"}"#]
        )
        let hz = builder.headers(azure, key: key, stream: false)
        #expect(hz.first(name: "api-key") == "sk-secret")
        #expect(hz.first(name: "user-agent") == "Custom")
    }

    @Test func upstreamMessagesLoseAnythingKeyLike() {
        #expect(UpstreamFailure.redact("Incorrect API key provided: sk-abcdefghijklmnopqrstuvwxyz.") == "Incorrect API key provided: [redacted]")
        let failure = UpstreamFailure.status(401, "bad key")
        #expect(failure.clientError(attempts: 1).status == .badGateway)
        #expect(UpstreamFailure.status(400, "bad").clientError(attempts: 1).status == .badRequest)
        #expect(UpstreamFailure.timeout("first byte").clientError(attempts: 2).status == .gatewayTimeout)
        #expect(UpstreamFailure.status(503, "").clientError(attempts: 3).message.contains("tried 3 providers"))
    }

    @Test func keysMayBeLimitedToModels() {
        #expect(CandidateResolver.isAllowed("gpt-4o", by: ["gpt-4o"]))
        #expect(CandidateResolver.isAllowed("openai/gpt-4o", by: ["gpt-4o"]))
        #expect(!CandidateResolver.isAllowed("gpt-4o", by: ["openai/gpt-4o"]))
        #expect(!CandidateResolver.isAllowed("claude", by: ["gpt-4o"]))
    }
}
