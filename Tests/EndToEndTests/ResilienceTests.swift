import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Cooldowns and refused keys over the real server with two OpenAI-compatible fakes serving the same model.
@Suite struct ResilienceTests {
    func chat(_ server: ServerProcess, _ key: String, model: String) async throws -> HTTPTestClient.Reply {
        let (path, body) = Ingress.chat.request(model: model, prompt: "hi", stream: false)
        return try await http.send(.POST, server.baseURL + path, headers: [("Authorization", "Bearer \(key)")], body: JSONText.render(body))
    }

    @Test func aFailingProviderCoolsDownAndIsSkipped() async throws {
        // A cooldown far longer than the test, so a slow, loaded machine cannot see it end.
        try await withTwoProviders(cooldownSeconds: 120) { _, server, key, first, second in
            first.setBehavior(.fail(status: 500))
            #expect(try await chat(server, key, model: "p1/gpt-fake").status == 502)
            #expect(try await chat(server, key, model: "p1/gpt-fake").status == 502)
            #expect(first.completions.count == 2)
            // Open: the pinned provider is not even tried, and the answer says when to come back.
            let cooling = try await chat(server, key, model: "p1/gpt-fake")
            #expect(cooling.status == 503)
            #expect(try cooling.openAIError()["code"] as? String == "providers_cooling_down")
            #expect((Int(cooling.headers.first(name: "retry-after") ?? "") ?? 0) > 60)
            // Unpinned traffic goes to the healthy provider without touching the cooling one.
            for _ in 0..<4 { #expect(try await chat(server, key, model: "gpt-fake").status == 200) }
            #expect(first.completions.count == 2)
            #expect(second.completions.count == 4)
        }
    }

    @Test func afterTheCooldownOneTrialRestoresTheProvider() async throws {
        try await withTwoProviders(cooldownSeconds: 2) { _, server, key, first, _ in
            first.setBehavior(.fail(status: 500))
            #expect(try await chat(server, key, model: "p1/gpt-fake").status == 502)
            #expect(try await chat(server, key, model: "p1/gpt-fake").status == 502)
            first.setBehavior(.normal)
            // However slow the machine, at least the cooldown has passed after this sleep.
            try await Task.sleep(for: .milliseconds(2300))
            #expect(try await chat(server, key, model: "p1/gpt-fake").status == 200)
            #expect(try await chat(server, key, model: "p1/gpt-fake").status == 200)
            #expect(first.completions.count == 4)
        }
    }

    @Test func theAttemptAndTimeBudgetsBoundFailover() async throws {
        try await withTwoProviders(extra: ["AIHIGRESS_FAILOVER_MAX_ATTEMPTS": "1"]) { _, server, key, first, second in
            first.setBehavior(.fail(status: 500))
            second.setBehavior(.fail(status: 500))
            let reply = try await chat(server, key, model: "gpt-fake")
            #expect(reply.status == 502)
            #expect(first.completions.count + second.completions.count == 1, "one attempt only")
        }
        try await withTwoProviders(extra: [
            "AIHIGRESS_FAILOVER_BUDGET_SECONDS": "1", "LLM_PROVIDER_p1_FIRST_BYTE_TIMEOUT": "1.2", "LLM_PROVIDER_p2_FIRST_BYTE_TIMEOUT": "1.2",
        ]) { _, server, key, first, second in
            first.setBehavior(.delayHead(.seconds(3)))
            second.setBehavior(.delayHead(.seconds(3)))
            let reply = try await chat(server, key, model: "gpt-fake")
            // The first attempt times out after the budget is spent, so no second one starts.
            #expect(reply.status == 504)
            #expect(first.completions.count + second.completions.count == 1)
        }
    }

    @Test func aRefusedKeyIsDisabledAuditedAndTheOtherKeyTried() async throws {
        try await withTwoProviders { deployment, server, key, first, _ in
            first.setBehavior(.fail(status: 401))
            // Both of p1's keys are refused in turn, each disabled; with p1 pinned there is nowhere else to go.
            let refused = try await chat(server, key, model: "p1/gpt-fake")
            #expect(refused.status == 502)
            #expect((try refused.openAIError()["message"] as? String)?.contains("401") == true)
            let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            var disabled: [[String: Any]] = []
            repeat {
                let log = try await owner.get("/system/audit-log?action=provider_key.disabled").json()["data"] as? [[String: Any]] ?? []
                disabled = log
                if disabled.count >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline
            #expect(disabled.count == 2, "each refused key is disabled once, with an audit entry")
            let authorizations = first.completions.compactMap { $0.headers["authorization"] }
            #expect(Set(authorizations).count == 2, "the second key was tried after the first was refused")
            // Disabled keys stay out of rotation: p1 gets no more traffic.
            first.setBehavior(.normal)
            let before = first.completions.count
            for _ in 0..<3 { #expect(try await chat(server, key, model: "gpt-fake").status == 200) }
            #expect(first.completions.count == before)

            // An operator re-enables one key; the provider serves again once the registry reloads.
            let keyId = try #require((disabled.first?["target"] as? [String: Any])?["id"] as? String)
            let enabled = try await deployment.cli(["providers", "enable-key", "--id", keyId])
            #expect(enabled.status == 0, "\(enabled.stderr)")
            let back = ContinuousClock.now.advanced(by: .seconds(15))
            var status = 0
            while status != 200 && ContinuousClock.now < back {
                status = try await chat(server, key, model: "p1/gpt-fake").status
                if status != 200 { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(status == 200)
        }
    }
}

/// Per-provider and per-key request-rate limits (max_qps), shared through shared state.
@Suite struct RateLimitedProviderTests {
    func withProvider(_ extra: [String: String], _ body: (ServerProcess, String, FakeProvider) async throws -> Void) async throws {
        let fake = try await FakeProvider.start(.openai, models: ["gpt-fake"])
        defer { Task { await fake.stop() } }
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location, extra: [
                "LLM_PROVIDERS": "p1", "LLM_PROVIDER_p1_BASE_URL": fake.baseURL + "/v1", "LLM_PROVIDER_p1_API_KEY": "sk-one,sk-two",
                "AIHIGRESS_UNPRICED_MODELS": "default", "AIHIGRESS_DEFAULT_PRICE_INPUT": "1", "AIHIGRESS_DEFAULT_PRICE_OUTPUT": "1",
            ].merging(extra) { $1 })
            let (_, key) = try await deployment.organisationWithKey()
            try await deployment.withServer { server in try await body(server, key, fake) }
        }
    }

    /// Sends `count` requests at once (all inside one or two UTC seconds).
    func burst(_ server: ServerProcess, _ key: String, count: Int) async throws -> [HTTPTestClient.Reply] {
        let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
        let text = JSONText.render(body)
        return try await withThrowingTaskGroup(of: HTTPTestClient.Reply.self) { group in
            for _ in 0..<count {
                group.addTask { try await http.send(.POST, server.baseURL + path, headers: [("Authorization", "Bearer \(key)")], body: text) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test func aProviderBeyondItsQPSIsUnavailableForThatRequest() async throws {
        try await withProvider(["LLM_PROVIDER_p1_MAX_QPS": "2"]) { server, key, fake in
            try await atTheStartOfASecond()
            let replies = try await burst(server, key, count: 6)
            let accepted = replies.filter { $0.status == 200 }.count
            let refused = replies.filter { $0.status == 503 }
            // Two per second; a burst that spills into the next second may get two more.
            #expect((2...4).contains(accepted), "\(replies.map(\.status))")
            #expect(accepted + refused.count == 6)
            #expect(try refused.allSatisfy { try $0.openAIError()["code"] as? String == "providers_saturated" })
            #expect(refused.allSatisfy { $0.headers.first(name: "retry-after") == "1" })
            #expect(fake.completions.count == accepted)
        }
    }

    @Test func eachKeyKeepsItsOwnQPSAndThePoolUsesTheOneWithHeadroom() async throws {
        try await withProvider(["LLM_PROVIDER_p1_KEY_MAX_QPS": "1"]) { server, key, fake in
            try await atTheStartOfASecond()
            let replies = try await burst(server, key, count: 3)
            let accepted = replies.filter { $0.status == 200 }.count
            #expect((2...3).contains(accepted), "\(replies.map(\.status))")
            // Within one second the two accepted requests went out on different keys.
            let keys = fake.completions.prefix(2).compactMap { $0.headers["authorization"] }
            #expect(Set(keys).count == 2, "\(keys)")
        }
    }
}

/// `X-Session-Id` keeps a conversation on one upstream while it is healthy.
@Suite struct StickinessTests {
    @Test func aSessionStaysOnItsUpstreamMovesWhenItFailsAndCanBeForgotten() async throws {
        try await withTwoProviders { _, server, key, first, second in
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
            func send(_ session: String?) async throws -> Int {
                var headers = [("Authorization", "Bearer \(key)")]
                if let session { headers.append(("X-Session-Id", session)) }
                return try await http.send(.POST, server.baseURL + path, headers: headers, body: JSONText.render(body)).status
            }
            for _ in 0..<8 { #expect(try await send("conversation-1") == 200) }
            // All eight on one provider (without stickiness the weighted choice spreads them).
            let counts = [first.completions.count, second.completions.count].sorted()
            #expect(counts == [0, 8], "\(counts)")
            let pinned = first.completions.count == 8 ? first : second
            let other = pinned === first ? second : first

            let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let described = try await owner.get("/orgs/acme/routing/sessions/conversation-1")
            #expect(described.status == 200)
            #expect(try described.json()["upstream_model"] as? String == "gpt-fake")
            #expect(((try described.json()["expires_in"] as? Int) ?? 0) > 7000)

            // The pinned upstream fails: the session moves, and stays moved.
            pinned.setBehavior(.fail(status: 500))
            #expect(try await send("conversation-1") == 200)
            pinned.setBehavior(.normal)
            for _ in 0..<3 { #expect(try await send("conversation-1") == 200) }
            #expect(other.completions.count == 4)

            // Forgetting it: 204, then 404; a malformed session id is a 400 on the gateway route.
            #expect(try await owner.send(.DELETE, "/orgs/acme/routing/sessions/conversation-1").status == 204)
            #expect(try await owner.get("/orgs/acme/routing/sessions/conversation-1").status == 404)
            #expect(try await send(String(repeating: "x", count: 200)) == 400)
        }
    }
}

/// Every kind of retryable failure fails over to the next candidate before anything reaches the client, streaming
/// and not: 429, 500, a connection that drops mid-request, and a first-byte timeout.
@Suite struct FailoverTests {
    enum Failure: String, CaseIterable, Sendable { case tooManyRequests, serverError, droppedConnection, timeout }

    @Test(arguments: Failure.allCases) func eachRetryableFailureFailsOverStreamingAndNot(_ failure: Failure) async throws {
        // An upstream whose connection dies mid-request: every request is dropped without an answer.
        let dropping = try await ScriptedHTTPServer.start { _, _ in .close }
        // p1 is tried first every time (its breaker never opens here), with a short first-byte timeout.
        var extra = ["LLM_PROVIDER_p1_FIRST_BYTE_TIMEOUT": "0.5", "AIHIGRESS_BREAKER_FAILURES": "100"]
        if failure == .droppedConnection { extra["LLM_PROVIDER_p1_BASE_URL"] = dropping.baseURL + "/v1" }
        try await withTwoProviders(extra: extra) { _, server, key, first, second in
            switch failure {
            case .tooManyRequests: first.setBehavior(.fail(status: 429))
            case .serverError: first.setBehavior(.fail(status: 500))
            case .timeout: first.setBehavior(.delayHead(.seconds(3)))
            case .droppedConnection: break
            }
            let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let created = try await owner.send(.POST, "/orgs/acme/logical-models", body: [
                "name": "ordered", "upstreams": [["provider": "p1", "model": "gpt-fake", "priority": 0], ["provider": "p2", "model": "gpt-fake", "priority": 1]],
            ])
            #expect(created.status == 201, "\(created.body)")
            for stream in [false, true] {
                let (path, body) = Ingress.chat.request(model: "ordered", prompt: "fail over", stream: stream)
                let reply = try await http.send(.POST, server.baseURL + path, headers: [("Authorization", "Bearer \(key)")], body: JSONText.render(body))
                #expect(reply.status == 200, "\(failure) stream=\(stream): \(reply.status) \(reply.body)")
                #expect(try Ingress.chat.read(reply.body, stream: stream).text.hasPrefix("Echo: fail over"), "\(reply.body)")
            }
            #expect(second.completions.count == 2)
            #expect(failure == .droppedConnection ? dropping.requests >= 2 : first.completions.count >= 1, "p1 was tried first")
        }
        await dropping.stop()
    }
}
