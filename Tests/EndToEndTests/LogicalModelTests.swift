import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Logical models over the real server: names that map to prioritised, weighted upstreams, scoped per organisation,
/// with a price multiplier that only system administrators set.
@Suite struct LogicalModelTests {
    func admin(_ h: GatewayHarness) async throws -> ManagementClient {
        try await ManagementClient.login(h.server, email: "owner@example.com", password: "password1")
    }

    func chat(_ h: GatewayHarness, model: String, key: String? = nil) async throws -> HTTPTestClient.Reply {
        let (path, body) = Ingress.chat.request(model: model, prompt: "hi", stream: false)
        return try await http.send(.POST, h.base + path, headers: [("Authorization", "Bearer \(key ?? h.key)")], body: JSONText.render(body))
    }

    @Test func aGlobalNameRoutesByPriorityFailsOverAndCarriesItsMultiplier() async throws {
        try await GatewayHarness.withRunning { h in
            let owner = try await admin(h)
            let created = try await owner.send(.POST, "/system/logical-models", body: [
                "name": "fast", "strategy": "weighted", "price_multiplier": "2",
                "upstreams": [["provider": "oa", "model": "gpt-fake", "priority": 0], ["provider": "an", "model": "claude-fake", "priority": 1]],
            ])
            #expect(created.status == 201, "\(created.body)")
            #expect(try await http.send(.GET, h.base + "/v1/models", headers: h.auth).body.contains("\"fast\""))

            // Priority 0 first: the OpenAI fake answers.
            #expect(try await chat(h, model: "fast").status == 200)
            #expect(h.openai.completions.last?.body?["model"] == .string("gpt-fake"))
            #expect(h.anthropic.completions.isEmpty)
            // When it fails, the next priority takes over before anything reached the client.
            h.openai.setBehavior(.fail(status: 500))
            #expect(try await chat(h, model: "fast").status == 200)
            #expect(h.anthropic.completions.count == 1)
            h.openai.setBehavior(.normal)

            // Charged at twice the default price (11 input × 1 + 7 output × 2 = 25 micro-credits, doubled).
            let ledger = try await owner.get("/orgs/acme/billing/ledger?kind=charge").json()["data"] as? [[String: Any]] ?? []
            #expect(ledger.contains { ($0["amount_micros"] as? NSNumber)?.int64Value == -50 && $0["model"] as? String == "gpt-fake" })
        }
    }

    @Test func organisationsOwnTheirNamesAndCannotSetMultipliers() async throws {
        try await GatewayHarness.withRunning { h in
            let owner = try await admin(h)
            let refused = try await owner.send(.POST, "/orgs/acme/logical-models", body: ["name": "cheap", "price_multiplier": "0.1"])
            #expect(refused.status == 403)
            let created = try await owner.send(.POST, "/orgs/acme/logical-models", body: [
                "name": "mine", "upstreams": [["provider": "ge", "model": "gemini-fake"]],
            ])
            #expect(created.status == 201, "\(created.body)")
            let id = try #require(try created.json()["id"] as? String)
            #expect(try await chat(h, model: "mine").status == 200)
            #expect(h.gemini.completions.count == 1)

            // Bad input is named; duplicates conflict; unknown providers are not found.
            #expect(try await owner.send(.POST, "/orgs/acme/logical-models", body: ["name": "a/b"]).status == 400)
            #expect(try await owner.send(.POST, "/orgs/acme/logical-models", body: ["name": "mine"]).status == 409)
            #expect(try await owner.send(.POST, "/orgs/acme/logical-models", body: ["name": "x", "strategy": "fastest"]).status == 400)
            let unknownProvider = try await owner.send(.POST, "/orgs/acme/logical-models/\(id)/upstreams", body: ["provider": "nope", "model": "m"])
            #expect(unknownProvider.status == 404)

            // Another organisation neither sees nor routes to it.
            let other = try await h.deployment.cli(["admin", "bootstrap", "--email", "other@example.com", "--password", "password1", "--org", "other"])
            #expect(other.status == 0)
            let otherKey = try await h.deployment.cli(["keys", "create", "--org", "other", "--name", "k"])
            let key = try #require(try otherKey.json()["key"] as? String)
            let missing = try await chat(h, model: "mine", key: key)
            #expect(missing.status == 404)

            // Removing its only upstream leaves a name with nowhere to go: a clear 503, not a silent fallback.
            let model = try await owner.get("/orgs/acme/logical-models/\(id)").json()
            let upstreamId = try #require(((model["upstreams"] as? [[String: Any]])?.first)?["id"] as? String)
            #expect(try await owner.send(.DELETE, "/orgs/acme/logical-models/\(id)/upstreams/\(upstreamId)").status == 204)
            let empty = try await chat(h, model: "mine")
            #expect(empty.status == 503)
            #expect(try empty.openAIError()["code"] as? String == "logical_model_unavailable")
            #expect(try await owner.send(.DELETE, "/orgs/acme/logical-models/\(id)").status == 204)
            #expect(try await chat(h, model: "mine").status == 404)
        }
    }
}
