import Core
import Logging
import SQLKit
import Testing
import TestSupport
@testable import Tenancy

@Suite struct BootstrapTests {
    let passwords = PasswordHasher(cost: 4)

    @Test func bootstrapIsIdempotentAndCreatesAnOwnedOrganisation() async throws {
        try await TestDatabase.withMigrated { database in
            let bootstrap = Bootstrap(database: database, passwords: passwords)
            let first = try await bootstrap.run(email: "Admin@Example.com", password: "correct horse", orgSlug: "acme", orgName: "Acme Inc")
            let second = try await bootstrap.run(email: "admin@example.com", password: "another pass", orgSlug: "acme", orgName: nil)
            #expect(first == second)
            let user = try #require(try await database.first("SELECT * FROM users WHERE id = \(bind: first.userId)"))
            #expect(try user.decode(column: "email", as: String.self) == "admin@example.com")
            #expect(try user.decode(column: "is_system_admin", as: Bool.self))
            let hash = try user.decode(column: "password_hash", as: String.self)
            #expect(hash.hasPrefix("$2"))
            #expect(try await passwords.verify("correct horse", against: hash), "an existing user keeps the first password")
            let org = try #require(try await database.first("SELECT * FROM organizations WHERE id = \(bind: first.orgId)"))
            #expect(try org.decode(column: "name", as: String.self) == "Acme Inc")
            let role = try await database.first("SELECT role FROM memberships WHERE org_id = \(bind: first.orgId) AND user_id = \(bind: first.userId)")
            #expect(try role?.decode(column: "role", as: String.self) == "owner")
            let audit = try await database.query("SELECT action FROM audit_log ORDER BY id")
            #expect(try audit.map { try $0.decode(column: "action", as: String.self) } == ["user.created", "org.created", "member.added"])
        }
    }

    @Test func bootstrapRejectsBadInputBeforeWriting() async throws {
        try await TestDatabase.withMigrated { database in
            let bootstrap = Bootstrap(database: database, passwords: passwords)
            await #expect(throws: APIError.self) { _ = try await bootstrap.run(email: "nope", password: "long enough", orgSlug: "acme", orgName: nil) }
            await #expect(throws: APIError.self) { _ = try await bootstrap.run(email: "a@b.co", password: "short", orgSlug: "acme", orgName: nil) }
            await #expect(throws: APIError.self) { _ = try await bootstrap.run(email: "a@b.co", password: "long enough", orgSlug: "Bad Slug", orgName: nil) }
            let users = try await database.query("SELECT id FROM users")
            #expect(users.isEmpty)
        }
    }
}

@Suite struct APIKeyTests {
    let ring = KeyRing(secret: TestEnvironment.secret)

    private func organisation(_ database: Database) async throws {
        _ = try await Bootstrap(database: database, passwords: PasswordHasher(cost: 4))
            .run(email: "owner@example.com", password: "password1", orgSlug: "acme", orgName: nil)
    }

    @Test func keysAreStoredOnlyAsHashesWithAVisiblePrefix() async throws {
        try await TestDatabase.withMigrated { database in
            try await organisation(database)
            let keys = APIKeys(database: database, keyRing: ring, sharedState: InProcessSharedState())
            let created = try await keys.create(orgSlug: "acme", name: "ci", expiresInSeconds: nil, allowedModels: ["gpt-4o"], createdBy: nil, actor: .cli)
            #expect(created.key.hasPrefix("ahg-"))
            #expect(created.key.count == 4 + 48)
            let row = try #require(try await database.first("SELECT * FROM api_keys WHERE id = \(bind: created.id)"))
            #expect(try row.decode(column: "key_hash", as: String.self) == ring.hash(created.key, purpose: .apiKeyHash))
            #expect(try row.decode(column: "key_prefix", as: String.self) == String(created.key.prefix(12)))
            for column in ["key_hash", "key_prefix", "name", "allowed_models"] {
                let value = try row.decode(column: column, as: String.self)
                #expect(!value.contains(created.key), "\(column) must not hold the key")
            }
        }
    }

    @Test func authenticationAcceptsValidKeysAndRefusesTheRest() async throws {
        try await TestDatabase.withMigrated { database in
            try await organisation(database)
            let state = InProcessSharedState()
            let keys = APIKeys(database: database, keyRing: ring, sharedState: state)
            let auth = APIKeyAuthenticator(database: database, keyRing: ring, sharedState: state, logger: TestEnvironment.logger)
            let key = try await keys.create(orgSlug: "acme", name: "app", expiresInSeconds: nil, allowedModels: ["a", "b"], createdBy: nil, actor: .cli)
            let identity = try await auth.authenticate(key.key)
            #expect(identity.keyId == key.id)
            #expect(identity.allowedModels == ["a", "b"])
            try await expectRefusal(auth, nil, code: "invalid_api_key")
            try await expectRefusal(auth, "sk-something", code: "invalid_api_key")
            try await expectRefusal(auth, "ahg-" + String(repeating: "x", count: 48), code: "invalid_api_key")

            let shortLived = try await keys.create(orgSlug: "acme", name: "short", expiresInSeconds: 1, allowedModels: nil, createdBy: nil, actor: .cli)
            _ = try await auth.authenticate(shortLived.key)
            try await Task.sleep(for: .milliseconds(1100))
            try await expectRefusal(auth, shortLived.key, code: "api_key_expired")
        }
    }

    /// A revocation announced over shared state evicts the cached key at once, long before the cache would expire.
    @Test func revocationEvictsCachedKeysThroughSharedState() async throws {
        try await TestDatabase.withMigrated { database in
            try await organisation(database)
            let state = try TestSharedState.forPass()
            let keys = APIKeys(database: database, keyRing: ring, sharedState: state)
            let auth = APIKeyAuthenticator(
                database: database, keyRing: ring, sharedState: state, logger: TestEnvironment.logger, cacheLifetime: .seconds(600)
            )
            let listener = Task { try await auth.run() }
            let key = try await keys.create(orgSlug: "acme", name: "app", expiresInSeconds: nil, allowedModels: nil, createdBy: nil, actor: .cli)
            _ = try await auth.authenticate(key.key)
            try await Task.sleep(for: .milliseconds(200))  // the listener has subscribed
            try await keys.revoke(id: key.id, actor: .cli)
            let deadline = ContinuousClock.now.advanced(by: .seconds(2))
            var refused = false
            while !refused && ContinuousClock.now < deadline {
                do { _ = try await auth.authenticate(key.key) } catch { refused = true }
                if !refused { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(refused)
            try await expectRefusal(auth, key.key, code: "api_key_revoked")
            // Revoking twice is harmless; unknown ids are a clear 404.
            try await keys.revoke(id: key.id, actor: .cli)
            await #expect(throws: APIError.self) { try await keys.revoke(id: "missing", actor: .cli) }
            let audit = try await database.query("SELECT action FROM audit_log WHERE action = 'api_key.revoked'")
            #expect(audit.count == 1)
            listener.cancel()
            await state.shutdown()
        }
    }

    @Test func creationValidatesItsInput() async throws {
        try await TestDatabase.withMigrated { database in
            try await organisation(database)
            let keys = APIKeys(database: database, keyRing: ring, sharedState: InProcessSharedState())
            await #expect(throws: APIError.self) {
                _ = try await keys.create(orgSlug: "nope", name: "x", expiresInSeconds: nil, allowedModels: nil, createdBy: nil, actor: .cli)
            }
            await #expect(throws: APIError.self) {
                _ = try await keys.create(orgSlug: "acme", name: " ", expiresInSeconds: nil, allowedModels: nil, createdBy: nil, actor: .cli)
            }
            await #expect(throws: APIError.self) {
                _ = try await keys.create(orgSlug: "acme", name: "x", expiresInSeconds: nil, allowedModels: [], createdBy: nil, actor: .cli)
            }
        }
    }

    private func expectRefusal(_ auth: APIKeyAuthenticator, _ key: String?, code: String) async throws {
        do {
            _ = try await auth.authenticate(key)
            Issue.record("key \(key ?? "nil") was accepted")
        } catch let error as APIError {
            #expect(error.status == .unauthorized)
            #expect(error.code == code)
        }
    }
}

@Suite struct InputRulesTests {
    @Test func durations() throws {
        #expect(try InputRules.duration("30d", field: "f") == 30 * 86_400)
        #expect(try InputRules.duration("12h", field: "f") == 12 * 3600)
        #expect(try InputRules.duration("2w", field: "f") == 14 * 86_400)
        for bad in ["", "d", "0d", "-1d", "5y", "1.5h", "99999999999d"] {
            #expect(throws: APIError.self, "\(bad)") { try InputRules.duration(bad, field: "f") }
        }
    }

    @Test func slugsAndEmails() throws {
        try InputRules.validateSlug("acme-2")
        for bad in ["a", "-acme", "Acme", "ac me", String(repeating: "a", count: 64)] {
            #expect(throws: APIError.self, "\(bad)") { try InputRules.validateSlug(bad) }
        }
        #expect(try InputRules.normalizedEmail(" Ann@Example.ORG ") == "ann@example.org")
        for bad in ["ann", "ann@", "@x.org", "ann@x", "a b@x.org", "ann@.org"] {
            #expect(throws: APIError.self, "\(bad)") { try InputRules.normalizedEmail(bad) }
        }
    }
}
