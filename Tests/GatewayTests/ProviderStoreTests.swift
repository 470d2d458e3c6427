import Core
import SQLKit
import Testing
import TestSupport
@testable import Gateway

@Suite struct ProviderStoreTests {
    private func declared(_ env: [String: String]) throws -> [ProviderSettings] {
        try GatewayEnvironment.load(from: env).providers
    }

    @Test func environmentProvidersAreSyncedWithSealedSecretsAndStableKeyIds() async throws {
        try await TestDatabase.withMigrated { database in
            let store = ProviderStore(database: database, keyRing: KeyRing(secret: TestEnvironment.secret))
            let first = try declared([
                "LLM_PROVIDERS": "alpha,beta",
                "LLM_PROVIDER_alpha_BASE_URL": "https://a.example", "LLM_PROVIDER_alpha_API_KEY": "sk-alpha-1,sk-alpha-2",
                "LLM_PROVIDER_alpha_HEADERS": #"{"api-key":"header-secret"}"#,
                "LLM_PROVIDER_beta_BASE_URL": "https://b.example", "LLM_PROVIDER_beta_API_KEY": "sk-beta", "LLM_PROVIDER_beta_KIND": "gemini",
            ])
            try await store.syncEnvironmentProviders(first)
            let loaded = try await store.loadAll()
            #expect(loaded.map(\.slug) == ["alpha", "beta"])
            #expect(loaded[0].keys.map(\.secret) == ["sk-alpha-1", "sk-alpha-2"])
            #expect(loaded[0].extraHeaders == ["api-key": "header-secret"])
            #expect(loaded[1].kind == .gemini)
            #expect(loaded.allSatisfy { $0.ownerOrgId == nil && $0.isUsable })
            // Nothing secret is stored in the clear.
            for row in try await database.query("SELECT secret FROM provider_keys") {
                #expect(try row.decode(column: "secret", as: String.self).hasPrefix("v1:"))
            }
            let headers = try #require(try await database.first("SELECT extra_headers FROM providers WHERE slug = 'alpha'"))
            #expect(!(try headers.decode(column: "extra_headers", as: String.self)).contains("header-secret"))

            // A restart with one key changed and beta gone: kept key keeps its id, beta goes offline.
            let keptId = try #require(loaded[0].keys.first { $0.secret == "sk-alpha-1" }?.id)
            let second = try declared([
                "LLM_PROVIDERS": "alpha",
                "LLM_PROVIDER_alpha_BASE_URL": "https://a2.example", "LLM_PROVIDER_alpha_API_KEY": "sk-alpha-1,sk-alpha-3",
            ])
            try await store.syncEnvironmentProviders(second)
            let reloaded = try await store.loadAll()
            let alpha = try #require(reloaded.first { $0.slug == "alpha" })
            #expect(alpha.baseURL == "https://a2.example")
            #expect(alpha.id == loaded[0].id)
            #expect(Set(alpha.keys.map(\.secret)) == ["sk-alpha-1", "sk-alpha-3"])
            #expect(alpha.keys.first { $0.secret == "sk-alpha-1" }?.id == keptId)
            let beta = try #require(reloaded.first { $0.slug == "beta" })
            #expect(beta.status == "offline")
            #expect(!beta.isUsable)
        }
    }

    @Test func anEnvironmentProviderCannotTakeOverAnAPIProvidersSlug() async throws {
        try await TestDatabase.withMigrated { database in
            try await database.execute(
                """
                INSERT INTO providers (id, slug, name, kind, base_url, source, created_at, updated_at)
                VALUES ('p1', 'alpha', 'Alpha', 'openai', 'https://x.example', 'api', 0, 0)
                """
            )
            let store = ProviderStore(database: database, keyRing: KeyRing(secret: TestEnvironment.secret))
            let env = try declared(["LLM_PROVIDERS": "alpha", "LLM_PROVIDER_alpha_BASE_URL": "https://a.example", "LLM_PROVIDER_alpha_API_KEY": "k"])
            await #expect(throws: APIError.self) { try await store.syncEnvironmentProviders(env) }
        }
    }
}
