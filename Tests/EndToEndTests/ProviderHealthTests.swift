import Core
import Foundation
import SQLKit
import Testing
import TestSupport

/// Health probes and the read-only provider endpoints over the real server, with fake providers on loopback.
@Suite struct ProviderHealthTests {
    /// Two fakes: `p1` (OpenAI, keys `sk-health-a`/`sk-health-b`, offers `gpt-fake`) and `p2` (Anthropic, offers
    /// `claude-fake`). Both model lists are static, so every request a fake sees on its models path is a probe.
    func withProviders(
        _ extra: [String: String], beforeStart: (DatabaseLocation) async throws -> Void = { _ in },
        _ body: (ServerProcess, ManagementClient, FakeProvider, FakeProvider, _ apiKey: String) async throws -> Void
    ) async throws {
        let openai = try await FakeProvider.start(.openai, models: ["gpt-fake"])
        let anthropic = try await FakeProvider.start(.anthropic, models: ["claude-fake"])
        defer { Task { await openai.stop(); await anthropic.stop() } }
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location, extra: [
                "LLM_PROVIDERS": "p1,p2",
                "LLM_PROVIDER_p1_BASE_URL": openai.baseURL + "/v1", "LLM_PROVIDER_p1_API_KEY": "sk-health-a,sk-health-b",
                "LLM_PROVIDER_p1_MODELS": "gpt-fake",
                "LLM_PROVIDER_p2_BASE_URL": anthropic.baseURL, "LLM_PROVIDER_p2_API_KEY": "sk-ant-health", "LLM_PROVIDER_p2_KIND": "anthropic",
                "LLM_PROVIDER_p2_MODELS": "claude-fake",
            ].merging(extra) { $1 })
            let (_, apiKey) = try await deployment.organisationWithKey()
            try await beforeStart(location)
            try await deployment.withServer { server in
                let owner = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
                try await body(server, owner, openai, anthropic, apiKey)
            }
        }
    }

    /// The provider's `health` object as the organisation sees it.
    func health(_ owner: ManagementClient, _ provider: String) async throws -> [String: Any]? {
        let reply = try await owner.get("/orgs/acme/providers/\(provider)")
        guard reply.status == 200 else { throw TestSetupError("GET provider \(provider): \(reply.status) \(reply.body)") }
        return try reply.json()["health"] as? [String: Any]
    }

    /// Polls until the provider's health status is `status`; generous, since probes run once a second on a loaded machine.
    func waitForStatus(_ status: String, _ owner: ManagementClient, _ provider: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while true {
            if let record = try await health(owner, provider), record["status"] as? String == status { return record }
            guard ContinuousClock.now < deadline else {
                throw TestSetupError("\(provider) did not become \(status); last: \(String(describing: try await health(owner, provider)))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test func backgroundProbesMarkAFailingProviderDownAndHealthyAgainAfterItRecovers() async throws {
        let probing = ["AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS": "1", "AIHIGRESS_HEALTH_PROBE_MODEL": "gpt-fake"]
        try await withProviders(probing) { _, owner, openai, _, _ in
            let first = try await waitForStatus("healthy", owner, "p1")
            #expect(first["consecutive_failures"] as? Int == 0)
            #expect(first["last_success_at"] as? Int != nil)

            openai.setBehavior(.fail(status: 500))
            let down = try await waitForStatus("down", owner, "p1")
            #expect((down["consecutive_failures"] as? Int ?? 0) >= 2, "down only after two failed probes: \(down)")
            #expect((down["error"] as? String)?.contains("500") == true, "\(down)")
            #expect((down["last_success_at"] as? Int ?? 0) >= (first["last_success_at"] as? Int ?? .max), "the last success is remembered")
            // The list shows the same state.
            let listed = try await owner.get("/orgs/acme/providers").json()["data"] as? [[String: Any]] ?? []
            let p1 = try #require(listed.first { $0["slug"] as? String == "p1" })
            #expect((p1["health"] as? [String: Any])?["status"] as? String == "down")

            openai.setBehavior(.normal)
            let back = try await waitForStatus("healthy", owner, "p1")
            #expect(back["consecutive_failures"] as? Int == 0)
            #expect(back["error"] is NSNull)
            #expect((back["last_success_at"] as? Int ?? 0) > (down["checked_at"] as? Int ?? .max))
        }
    }

    @Test func theHealthEndpointProbesNowWithTheModelsPathOrAOneTokenChat() async throws {
        // Background probing off: every request the fakes see comes from the endpoint.
        let live = ["AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS": "0", "AIHIGRESS_HEALTH_PROBE_MODEL": "gpt-fake"]
        try await withProviders(live) { _, owner, openai, anthropic, _ in
            #expect(try await health(owner, "p1") == nil, "never probed")
            #expect(openai.received.isEmpty && anthropic.received.isEmpty)

            // p1 offers the probe model: a one-token chat request with its first key.
            let checked = try await owner.get("/orgs/acme/providers/p1/health")
            #expect(checked.status == 200, "\(checked.body)")
            #expect(try checked.json()["status"] as? String == "healthy")
            let chat = try #require(openai.received.last)
            #expect(openai.received.count == 1)
            #expect(chat.method == "POST" && chat.path == "/v1/chat/completions")
            #expect(chat.body?["model"]?.stringValue == "gpt-fake")
            #expect(chat.body?["max_tokens"]?.intValue == 1)
            #expect(chat.headers["authorization"] == "Bearer sk-health-a")
            #expect(try await health(owner, "p1")?["status"] as? String == "healthy", "the live check is recorded")

            // p2 does not offer it: the probe lists models in the provider's own protocol.
            #expect(try await owner.get("/orgs/acme/providers/p2/health").json()["status"] as? String == "healthy")
            let list = try #require(anthropic.received.last)
            #expect(anthropic.received.count == 1)
            #expect(list.method == "GET" && list.path == "/v1/models")
            #expect(list.headers["x-api-key"] == "sk-ant-health")

            // Failures count up; the second consecutive one makes the provider down.
            openai.setBehavior(.fail(status: 503))
            let once = try await owner.get("/orgs/acme/providers/p1/health").json()
            #expect(once["status"] as? String == "healthy", "one failure is not enough: \(once)")
            #expect(once["consecutive_failures"] as? Int == 1)
            let twice = try await owner.get("/orgs/acme/providers/p1/health").json()
            #expect(twice["status"] as? String == "down")
            #expect((twice["error"] as? String)?.contains("503") == true, "\(twice)")
            #expect(openai.received.count == 3)
        }
    }

    @Test func providerListingsShowNoSecretsAndOnlyWhatTheOrganisationMaySee() async throws {
        let ids = PrivateProviders(acme: Identifier.make(), beta: Identifier.make())
        try await withProviders(["AIHIGRESS_HEALTH_PROBE_INTERVAL_SECONDS": "0"], beforeStart: ids.insert) { server, owner, _, _, apiKey in
            let reply = try await owner.get("/orgs/acme/providers")
            #expect(reply.status == 200, "\(reply.body)")
            for secret in ["sk-health-a", "sk-health-b", "sk-ant-health", "127.0.0.1", "beta-own", "beta-own.example"] {
                #expect(!reply.body.contains(secret), "the listing must not contain \(secret)")
            }
            let listed = try reply.json()["data"] as? [[String: Any]] ?? []
            #expect(listed.compactMap { $0["slug"] as? String } == ["acme-own", "p1", "p2"])
            let p1 = try #require(listed.first { $0["slug"] as? String == "p1" })
            #expect(p1["key_count"] as? Int == 2)
            #expect(p1["visibility"] as? String == "public")
            #expect(p1["kind"] as? String == "openai")
            #expect(p1["base_url"] == nil)
            #expect((p1["circuit"] as? [String: Any])?["state"] as? String == "closed")
            #expect(p1["health"] is NSNull)
            let own = try #require(listed.first { $0["slug"] as? String == "acme-own" })
            #expect(own["visibility"] as? String == "private")
            #expect(own["base_url"] as? String == "https://acme-own.example/v1", "an organisation sees its own provider's URL")

            // One provider by slug or id; the models in the OpenAI list shape.
            #expect(try await owner.get("/orgs/acme/providers/\(ids.acme)").json()["slug"] as? String == "acme-own")
            let models = try await owner.get("/orgs/acme/providers/p2/models").json()
            #expect(models["object"] as? String == "list")
            let entries = models["data"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["id"] as? String } == ["claude-fake"])
            #expect(entries.first?["owned_by"] as? String == "p2")
            #expect(entries.first?["object"] as? String == "model")

            // Another organisation's private provider does not exist for acme, however it is named.
            for path in ["beta-own", ids.beta, "beta-own/models", "beta-own/health", "no-such-provider"] {
                let hidden = try await owner.get("/orgs/acme/providers/\(path)")
                #expect(hidden.status == 404, "\(path): \(hidden.status)")
                #expect(hidden.problemType?.hasSuffix("/provider_not_found") == true, "\(path): \(hidden.body)")
            }

            // The organisation's API key reads the same list at /providers, and is refused other organisations' too.
            let byKey = try await http.send(.GET, server.baseURL + "/providers", headers: [("Authorization", "Bearer \(apiKey)")])
            #expect(byKey.status == 200, "\(byKey.body)")
            #expect((try byKey.json()["data"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String } == ["acme-own", "p1", "p2"])
            let foreign = try await http.send(.GET, server.baseURL + "/providers/beta-own", headers: [("Authorization", "Bearer \(apiKey)")])
            #expect(foreign.status == 404)
        }
    }

    /// A private provider of acme and one of a second organisation, beta, written straight into the database
    /// (providers are not yet created through the API).
    struct PrivateProviders {
        let acme: String
        let beta: String

        func insert(_ location: DatabaseLocation) async throws {
            let database = try await Database.open(location, poolSize: 1, logger: TestEnvironment.logger)
            do {
                let acmeOrg = try #require(try await database.first("SELECT id FROM organizations WHERE slug = 'acme'"))
                    .decode(column: "id", as: String.self)
                let betaOrg = Identifier.make()
                try await database.execute(
                    "INSERT INTO organizations (id, slug, name, created_at, updated_at) VALUES (\(bind: betaOrg), 'beta', 'Beta', 0, 0)"
                )
                for (id, slug, org) in [(acme, "acme-own", acmeOrg), (beta, "beta-own", betaOrg)] {
                    try await database.execute(
                        """
                        INSERT INTO providers (id, slug, name, kind, base_url, owner_org_id, source, created_at, updated_at)
                        VALUES (\(bind: id), \(bind: slug), \(bind: slug), 'openai', \(bind: "https://\(slug).example/v1"), \(bind: org), 'api', 0, 0)
                        """
                    )
                }
                await database.close()
            } catch {
                await database.close()
                throw error
            }
        }
    }
}
