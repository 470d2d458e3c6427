import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Routing strategies over the real server and live metrics: weights split traffic, the latency strategy learns
/// which upstream is faster, and `POST /routing/decide` explains every choice.
@Suite struct RoutingStrategyTests {
    func chat(_ server: ServerProcess, _ key: String, model: String = "gpt-fake", headers: [(String, String)] = []) async throws -> HTTPTestClient.Reply {
        let (path, body) = Ingress.chat.request(model: model, prompt: "hi", stream: false)
        return try await http.send(
            .POST, server.baseURL + path, headers: [("Authorization", "Bearer \(key)")] + headers, body: JSONText.render(body)
        )
    }

    func decide(_ server: ServerProcess, _ key: String, _ body: [String: Any]) async throws -> HTTPTestClient.Reply {
        try await http.send(
            .POST, server.baseURL + "/routing/decide", headers: [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")],
            body: try json(body)
        )
    }

    func candidates(_ reply: HTTPTestClient.Reply) throws -> [String: [String: Any]] {
        let list = try reply.json()["candidates"] as? [[String: Any]] ?? []
        return Dictionary(list.map { ($0["provider"] as? String ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func weightsSplitTrafficWithinTolerance() async throws {
        try await withTwoProviders { _, server, key, first, second in
            let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let created = try await owner.send(.POST, "/orgs/acme/logical-models", body: [
                "name": "split", "strategy": "weighted",
                "upstreams": [["provider": "p1", "model": "gpt-fake", "weight": 3], ["provider": "p2", "model": "gpt-fake", "weight": 1]],
            ])
            #expect(created.status == 201, "\(created.body)")
            for _ in 0..<200 { #expect(try await chat(server, key, model: "split").status == 200) }
            // Expected 150 / 50; the binomial standard deviation is about 6, so ±30 fails only when weights are ignored.
            #expect((120...180).contains(first.completions.count), "p1 got \(first.completions.count) of 200")
            #expect(first.completions.count + second.completions.count == 200)

            // The dry run states the same shares.
            let decided = try await decide(server, key, ["model": "split"])
            #expect(decided.status == 200, "\(decided.body)")
            #expect(try decided.json()["strategy"] as? String == "weighted")
            #expect(try decided.json()["logical_model"] as? String == "split")
            let shares = try candidates(decided).mapValues { $0["share"] as? Double ?? -1 }
            #expect(abs((shares["p1"] ?? 0) - 0.75) < 0.001 && abs((shares["p2"] ?? 0) - 0.25) < 0.001, "\(shares)")
        }
    }

    @Test func theLatencyStrategyPrefersTheFasterUpstreamAfterWarmUp() async throws {
        try await withTwoProviders { _, server, key, first, second in
            first.setBehavior(.delayHead(.milliseconds(300)))
            let latency = [("X-Routing-Strategy", "latency")]
            // Warm-up: until both upstreams have been measured.
            var rounds = 0
            while (first.completions.isEmpty || second.completions.isEmpty) && rounds < 40 {
                #expect(try await chat(server, key, headers: latency).status == 200)
                rounds += 1
            }
            #expect(!first.completions.isEmpty && !second.completions.isEmpty, "both measured within \(rounds) requests")
            let before = (first.completions.count, second.completions.count)
            for _ in 0..<30 { #expect(try await chat(server, key, headers: latency).status == 200) }
            let slow = first.completions.count - before.0
            let fast = second.completions.count - before.1
            // The score gives the 300 ms upstream under 1 % of first picks; allow a little more than chance.
            #expect(fast >= 27, "fast \(fast), slow \(slow)")

            let decided = try await decide(server, key, ["model": "gpt-fake", "strategy": "latency"])
            let byProvider = try candidates(decided)
            let slowLatency = (byProvider["p1"]?["components"] as? [String: Any])?["latency"] as? Double ?? 1
            let slowTTFB = ((byProvider["p1"]?["metrics"] as? [String: Any])?["ttfb_ms"] as? [String: Any])?["ewma"] as? Double ?? 0
            #expect(slowLatency < 0.5, "\(decided.body)")
            #expect(slowTTFB >= 250, "the slow upstream's measured time to first byte: \(slowTTFB)")
            #expect((byProvider["p2"]?["share"] as? Double ?? 0) > 0.95, "\(decided.body)")
            // `chosen` is one draw by the shares (p1 keeps under 5 %, above), so one draw is p1 now and then on a
            // correct build; twenty draws must pick p2 at least seventeen times (p1 three times or more: < 2 % at a
            // 5 % share, about 1e-4 at the ~1 % the score gives it).
            var fastDraws = 0
            for _ in 0..<20 {
                let draw = try await decide(server, key, ["model": "gpt-fake", "strategy": "latency"])
                if (try draw.json()["chosen"] as? [String: Any])?["provider"] as? String == "p2" { fastDraws += 1 }
            }
            #expect(fastDraws >= 17, "p2 chosen in \(fastDraws) of 20 draws")
            // A strategy nobody offers is the client's error, in its API's shape.
            let bad = try await chat(server, key, headers: [("X-Routing-Strategy", "fastest")])
            #expect(bad.status == 400)
            #expect(try bad.openAIError()["param"] as? String == "X-Routing-Strategy")
        }
    }

    @Test func theDryRunExplainsExclusionsAndIsScopedToTheKeysOrganisation() async throws {
        try await withTwoProviders(cooldownSeconds: 120) { _, server, key, first, _ in
            first.setBehavior(.fail(status: 500))
            // Two failures trip p1's breaker (threshold 2 in this harness).
            for _ in 0..<2 { _ = try await chat(server, key, model: "p1/gpt-fake") }
            let before = first.completions.count
            let decided = try await decide(server, key, ["model": "gpt-fake"])
            #expect(decided.status == 200, "\(decided.body)")
            let byProvider = try candidates(decided)
            #expect(byProvider["p1"]?["excluded"] as? String == "cooling_down", "\(decided.body)")
            #expect(byProvider["p2"]?["excluded"] is NSNull, "\(decided.body)")
            // `chosen` is one draw by the shares (p1 keeps under 5 %, above), so one draw is p1 now and then on a
            // correct build; twenty draws must pick p2 at least seventeen times (p1 three times or more: < 2 % at a
            // 5 % share, about 1e-4 at the ~1 % the score gives it).
            var fastDraws = 0
            for _ in 0..<20 {
                let draw = try await decide(server, key, ["model": "gpt-fake", "strategy": "latency"])
                if (try draw.json()["chosen"] as? [String: Any])?["provider"] as? String == "p2" { fastDraws += 1 }
            }
            #expect(fastDraws >= 17, "p2 chosen in \(fastDraws) of 20 draws")
            #expect((byProvider["p1"]?["metrics"] as? [String: Any])?["failures"] as? Int == 2, "\(decided.body)")
            #expect(first.completions.count == before, "a dry run sends nothing upstream")

            // The provider's own figures, to the organisation's key: per model, with the circuit of the provider and its keys.
            let metrics = try await http.send(.GET, server.baseURL + "/providers/p1/metrics", headers: [("Authorization", "Bearer \(key)")])
            #expect(metrics.status == 200, "\(metrics.body)")
            let models = try metrics.json()["models"] as? [[String: Any]] ?? []
            #expect(models.first { $0["model"] as? String == "gpt-fake" }?["failures"] as? Int == 2, "\(metrics.body)")
            #expect((try metrics.json()["circuit"] as? [String: Any])?["state"] as? String == "open")
            #expect((try metrics.json()["keys"] as? [[String: Any]])?.count == 2)
            #expect(!metrics.body.contains("sk-first"), "key secrets never appear")

            // Members use the organisation route; bad input is a problem+json 400/404.
            let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let asMember = try await owner.send(.POST, "/orgs/acme/routing/decide", body: ["model": "gpt-fake", "strategy": "cost"])
            #expect(asMember.status == 200)
            #expect(try asMember.json()["strategy"] as? String == "cost")
            #expect(try await decide(server, key, ["strategy": "latency"]).status == 400)
            #expect(try await decide(server, key, ["model": "gpt-fake", "strategy": "fastest"]).status == 400)
            let unknown = try await decide(server, key, ["model": "no-such-model"])
            #expect(unknown.status == 404)
            #expect(unknown.headers.first(name: "content-type")?.hasPrefix("application/problem+json") == true)
            // A user's access token is not an API key on the key route, and no credentials are refused.
            let noKey = try await http.send(.POST, server.baseURL + "/routing/decide", headers: [("Content-Type", "application/json")], body: "{}")
            #expect(noKey.status == 401)

            // A key restricted to p2 does not see p1 as a candidate, only as a provider it may not use.
            let restricted = try await owner.send(.POST, "/orgs/acme/api-keys", body: ["name": "p2-only", "allowed_providers": ["p2"]])
            let secret = try #require(try restricted.json()["key"] as? String, "\(restricted.body)")
            let narrowed = try await decide(server, secret, ["model": "gpt-fake"])
            #expect(try candidates(narrowed).keys.sorted() == ["p2"], "\(narrowed.body)")
            let excluded = try narrowed.json()["excluded_providers"] as? [[String: Any]] ?? []
            #expect(excluded.contains { $0["provider"] as? String == "p1" && $0["reason"] as? String == "provider_not_allowed_for_key" }, "\(narrowed.body)")
        }
    }

    @Test func sessionContextKeepsTheLastTurnsForTheKeysOrganisationOnly() async throws {
        try await withTwoProviders(extra: ["AIHIGRESS_SESSION_CONTEXT_TURNS": "2", "AIHIGRESS_SESSION_CONTEXT_CHARS": "100"]) { _, server, key, _, _ in
            for prompt in ["first question", "second question", String(repeating: "x", count: 300)] {
                let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: prompt, stream: prompt.hasPrefix("second"))
                let reply = try await http.send(
                    .POST, server.baseURL + path, headers: [("Authorization", "Bearer \(key)"), ("X-Session-Id", "ctx-1")], body: JSONText.render(body)
                )
                #expect(reply.status == 200)
            }
            let read = try await http.send(.GET, server.baseURL + "/context/ctx-1", headers: [("Authorization", "Bearer \(key)")])
            #expect(read.status == 200, "\(read.body)")
            let turns = try read.json()["turns"] as? [[String: Any]] ?? []
            // Only the newest two turns, each truncated to 100 characters (plus the ellipsis).
            #expect(turns.count == 2, "\(read.body)")
            #expect(turns.first?["input"] as? String == "second question")
            let streamedAnswer = turns.first?["output"] as? String ?? ""
            #expect(!streamedAnswer.isEmpty, "the streamed answer is kept too: \(read.body)")
            #expect((turns.last?["input"] as? String)?.count == 101)
            #expect(turns.allSatisfy { $0["provider"] as? String != nil && $0["outcome"] as? String == "completed" })

            // Another organisation's key cannot see it; the owner can, through the organisation route.
            let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            #expect(try await owner.send(.POST, "/orgs", body: ["slug": "other-org"]).status == 201)
            let otherKey = try await owner.send(.POST, "/orgs/other-org/api-keys", body: ["name": "x"])
            let secret = try #require(try otherKey.json()["key"] as? String, "\(otherKey.body)")
            let foreign = try await http.send(.GET, server.baseURL + "/context/ctx-1", headers: [("Authorization", "Bearer \(secret)")])
            #expect(foreign.status == 404)
            #expect(try await owner.get("/orgs/acme/context/ctx-1").status == 200)

            // Forgetting it is final.
            let forget = try await http.send(.DELETE, server.baseURL + "/context/ctx-1", headers: [("Authorization", "Bearer \(key)")])
            #expect(forget.status == 204)
            #expect(try await http.send(.GET, server.baseURL + "/context/ctx-1", headers: [("Authorization", "Bearer \(key)")]).status == 404)
        }
    }

    @Test func aProviderFailingItsHealthProbesIsNeverChosen() async throws {
        let probing = ["AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS": "1", "AIHIGRESS_HEALTH_PROBE_MODEL": "gpt-fake"]
        try await withTwoProviders(extra: probing) { _, server, key, first, second in
            first.setBehavior(.fail(status: 503))
            // Probes (a one-token chat) mark p1 down after two failures; poll generously, a loaded machine is slow.
            var reason: String?
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while reason != "health_check_failed" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                reason = try candidates(try await decide(server, key, ["model": "gpt-fake"]))["p1"]?["excluded"] as? String
            }
            #expect(reason == "health_check_failed")
            func traffic(_ fake: FakeProvider) -> Int { fake.completions.filter { $0.body?["max_tokens"] != .int(1) }.count }
            let (p1Before, p2Before) = (traffic(first), traffic(second))
            for _ in 0..<6 { #expect(try await chat(server, key).status == 200) }
            #expect(traffic(first) == p1Before, "no request goes to a provider that fails its probes")
            #expect(traffic(second) == p2Before + 6)
            // Pinned to it, the client is told the provider is out of service rather than sent there.
            let pinned = try await chat(server, key, model: "p1/gpt-fake")
            #expect(pinned.status == 503)
            #expect(try pinned.openAIError()["code"] as? String == "providers_unavailable")
        }
    }

    @Test func aConfiguredAliasRoutesToTheProvidersOwnModel() async throws {
        try await withTwoProviders(extra: ["LLM_PROVIDER_p2_MODEL_ALIASES": "house-model=gpt-fake"]) { _, server, key, first, second in
            for _ in 0..<3 { #expect(try await chat(server, key, model: "house-model").status == 200) }
            #expect(first.completions.isEmpty, "only p2 knows the alias")
            #expect(second.completions.count == 3)
            #expect(second.completions.allSatisfy { $0.body?["model"] == .string("gpt-fake") }, "the provider gets its own id")
            #expect(try await chat(server, key, model: "p2/house-model").status == 200)
            #expect(try await chat(server, key, model: "p1/house-model").status == 404)
            let models = try await http.send(.GET, server.baseURL + "/v1/models", headers: [("Authorization", "Bearer \(key)")])
            let ids = (try models.json()["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.contains("house-model") && ids.contains("p2/house-model") && !ids.contains("p1/house-model"), "\(ids)")
        }
    }
}
