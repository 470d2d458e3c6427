import Core
import Foundation
import NIOHTTP1
import SQLKit
import Testing
import TestSupport

/// The organisation side of the management API over HTTP against the real server: invitations, roles and their
/// rules, API keys, and what disabling a user or suspending an organisation does.
@Suite struct OrganizationFlowTests {
    /// Runs `body` against a server on a fresh database where `owner@example.com` (system administrator) owns `acme`
    /// and a CLI-made key exists.
    /// `afterStop` runs once the server has exited, while the database still exists.
    private func withServer(
        _ extra: [String: String] = [:], afterStop: (DatabaseLocation) async throws -> Void = { _ in },
        _ body: (ServerProcess, Deployment, _ cliKey: String) async throws -> Void
    ) async throws {
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location, extra: extra)
            let (_, key) = try await deployment.organisationWithKey()
            let server = try await deployment.start()
            do {
                try await body(server, deployment, key)
                #expect(try await server.stop() == 0)
                try await afterStop(location)
            } catch {
                _ = try? await server.stop()
                throw error
            }
        }
    }

    private func modelsStatus(_ server: ServerProcess, _ key: String) async throws -> Int {
        try await http.send(.GET, "\(server.baseURL)/v1/models", headers: [("Authorization", "Bearer \(key)")]).status
    }

    /// Polls until `condition` holds or `seconds` pass.
    private func eventually(within seconds: Int = 5, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    private func data(_ reply: HTTPTestClient.Reply) throws -> [[String: Any]] {
        guard let items = try reply.json()["data"] as? [[String: Any]] else { throw TestSetupError("no data in \(reply.body)") }
        return items
    }

    @Test func invitationsBringNewAndExistingUsersIn() async throws {
        try await withServer { server, _, _ in
            let root = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let beta = try await root.send(.POST, "/orgs", body: ["slug": "beta", "name": "Beta"])
            #expect(beta.status == 201, "\(beta.body)")
            #expect(try beta.json()["role"] as? String == "owner")
            #expect(try await root.send(.POST, "/orgs", body: ["slug": "beta"]).problemType?.hasSuffix("/slug_taken") == true)
            #expect(try await root.send(.POST, "/orgs", body: ["slug": "Not A Slug"]).status == 400)
            #expect(try Set(data(await root.get("/orgs")).compactMap { $0["slug"] as? String }) == ["acme", "beta"])

            // A new person registers with the invitation and is a member with the invited role.
            let invite = try await root.send(.POST, "/orgs/acme/invitations", body: ["email": "New@Example.com", "role": "developer"])
            #expect(invite.status == 201, "\(invite.body)")
            let token = try #require(try invite.json()["token"] as? String)
            #expect(try invite.json()["accept_path"] as? String == "/invitations/\(token)/accept")
            let pending = try await root.get("/orgs/acme/invitations")
            #expect(try data(pending).map { $0["email"] as? String } == ["new@example.com"])
            #expect(!pending.body.contains(token), "listing never shows tokens")
            let newcomer = try await ManagementClient.register(server, email: "new@example.com", invitation: token)
            #expect(try await newcomer.get("/orgs/acme").json()["role"] as? String == "developer")
            #expect(try data(await root.get("/orgs/acme/members")).contains { $0["email"] as? String == "new@example.com" && $0["role"] as? String == "developer" })
            // Single use.
            #expect(try await newcomer.send(.POST, "/invitations/\(token)/accept").status == 404)
            let reuse = try await http.send(.POST, "\(server.baseURL)/auth/register", headers: [("Content-Type", "application/json")],
                                            body: json(["email": "new@example.com", "password": "password1", "invitation_token": token]))
            #expect(reuse.status == 404)
            #expect(try data(await root.get("/orgs/acme/invitations")).isEmpty)

            // An existing user accepts; someone else holding the token is refused.
            let erinInvite = try await root.send(.POST, "/orgs/beta/invitations", body: ["email": "erin@example.com", "role": "viewer"])
            let erin = try await ManagementClient.register(server, email: "erin@example.com", invitation: try #require(try erinInvite.json()["token"] as? String))
            let toAcme = try await root.send(.POST, "/orgs/acme/invitations", body: ["email": "erin@example.com", "role": "billing"])
            let acmeToken = try #require(try toAcme.json()["token"] as? String)
            let wrong = try await newcomer.send(.POST, "/invitations/\(acmeToken)/accept")
            #expect(wrong.status == 403)
            #expect(wrong.problemType?.hasSuffix("/invitation_email_mismatch") == true)
            let accepted = try await erin.send(.POST, "/invitations/\(acmeToken)/accept")
            #expect(accepted.status == 200, "\(accepted.body)")
            #expect(try accepted.json()["slug"] as? String == "acme")
            #expect(try accepted.json()["role"] as? String == "billing")
            #expect(try await erin.send(.POST, "/invitations/\(acmeToken)/accept").status == 404)
            #expect(try Set(data(await erin.get("/orgs")).compactMap { $0["slug"] as? String }) == ["acme", "beta"])
            // Inviting a member again is a conflict; a role that does not exist is a 400.
            #expect(try await root.send(.POST, "/orgs/acme/invitations", body: ["email": "erin@example.com", "role": "viewer"]).status == 409)
            #expect(try await root.send(.POST, "/orgs/acme/invitations", body: ["email": "x@example.com", "role": "wizard"]).status == 400)

            // Revoked invitations cannot be used.
            let revokedInvite = try await root.send(.POST, "/orgs/acme/invitations", body: ["email": "late@example.com", "role": "viewer"])
            let revokedId = try #require(try revokedInvite.json()["id"] as? String)
            #expect(try await root.send(.DELETE, "/orgs/acme/invitations/\(revokedId)").status == 204)
            #expect(try await root.send(.DELETE, "/orgs/acme/invitations/\(revokedId)").status == 404)
            let late = try await http.send(.POST, "\(server.baseURL)/auth/register", headers: [("Content-Type", "application/json")],
                                           body: json(["email": "late@example.com", "password": "password1",
                                                       "invitation_token": try #require(try revokedInvite.json()["token"] as? String)]))
            #expect(late.status == 404)

            // Each step is in the organisation's audit log with who, from where and with what.
            let log = try data(await root.get("/orgs/acme/audit-log?action=invitation.accepted"))
            #expect(log.count == 2)
            let erinEntry = try #require(log.first)
            #expect((erinEntry["actor"] as? [String: Any])?["id"] as? String == erin.userId)
            #expect(erinEntry["ip"] as? String == "127.0.0.1")
            let byErin = try data(await root.get("/orgs/acme/audit-log?actor_id=\(erin.userId)"))
            #expect(byErin.allSatisfy { ($0["actor"] as? [String: Any])?["id"] as? String == erin.userId } && !byErin.isEmpty)
            let future = EpochMillis.now() + 60_000
            #expect(try data(await root.get("/orgs/acme/audit-log?from=\(future)")).isEmpty)
            #expect(try await root.get("/orgs/acme/audit-log?from=yesterday").status == 400)
            #expect(try data(await root.get("/orgs/beta/audit-log")).allSatisfy { $0["org_id"] as? String != nil })
        }
    }

    @Test func rolesChangeOnlyWithinTheRulesAndAnOwnerAlwaysRemains() async throws {
        try await withServer(["AIHIGRESS_OPEN_REGISTRATION": "true"]) { server, _, _ in
            let root = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let adam = try await ManagementClient.register(server, email: "adam@example.com")
            let mia = try await ManagementClient.register(server, email: "mia@example.com")
            let zoe = try await ManagementClient.register(server, email: "zoe@example.com")
            #expect(try await root.send(.POST, "/orgs/acme/members", body: ["email": "adam@example.com", "role": "admin"]).status == 201)
            #expect(try await root.send(.POST, "/orgs/acme/members", body: ["email": "mia@example.com", "role": "viewer"]).status == 201)
            #expect(try await root.send(.POST, "/orgs/acme/members", body: ["email": "mia@example.com", "role": "viewer"]).status == 409)
            #expect(try await root.send(.POST, "/orgs/acme/members", body: ["email": "ghost@example.com", "role": "viewer"]).status == 404)

            // The last owner can be neither demoted nor removed.
            let demoteSelf = try await root.send(.PATCH, "/orgs/acme/members/\(root.userId)", body: ["role": "admin"])
            #expect(demoteSelf.status == 409)
            #expect(demoteSelf.problemType?.hasSuffix("/last_owner") == true)
            #expect(try await root.send(.DELETE, "/orgs/acme/members/\(root.userId)").status == 409)

            // Admins do not touch the owner role.
            let adminOnOwner = try await adam.send(.PATCH, "/orgs/acme/members/\(root.userId)", body: ["role": "viewer"])
            #expect(adminOnOwner.status == 403)
            #expect(adminOnOwner.problemType?.hasSuffix("/owner_required") == true)
            #expect(try await adam.send(.PATCH, "/orgs/acme/members/\(mia.userId)", body: ["role": "owner"]).status == 403)
            #expect(try await adam.send(.DELETE, "/orgs/acme/members/\(root.userId)").status == 403)

            // Custom roles: a people manager may hand out only what they hold.
            let people = try await adam.send(.POST, "/orgs/acme/roles", body: [
                "name": "people", "description": "Manages members", "permissions": ["org.view", "members.view", "members.manage"],
            ])
            #expect(people.status == 201, "\(people.body)")
            let peopleId = try #require(try people.json()["id"] as? String)
            let basic = try await root.send(.POST, "/orgs/acme/roles", body: ["name": "basic", "permissions": ["org.view"]])
            #expect(basic.status == 201)
            #expect(try await root.send(.POST, "/orgs/acme/roles", body: ["name": "owner", "permissions": [String]()]).status == 400)
            #expect(try await root.send(.POST, "/orgs/acme/roles", body: ["name": "bad", "permissions": ["keys.steal"]]).status == 400)
            #expect(try await root.send(.PATCH, "/orgs/acme/members/\(mia.userId)", body: ["role": "people"]).status == 200)
            let roles = try data(await mia.get("/orgs/acme/roles")).compactMap { $0["name"] as? String }
            #expect(roles == ["owner", "admin", "developer", "billing", "viewer", "basic", "people"])

            #expect(try await mia.send(.POST, "/orgs/acme/members", body: ["email": "zoe@example.com", "role": "developer"]).problemType?.hasSuffix("/privilege_escalation") == true)
            #expect(try await mia.send(.POST, "/orgs/acme/members", body: ["email": "zoe@example.com", "role": "basic"]).status == 201)
            #expect(try await mia.send(.PATCH, "/orgs/acme/members/\(adam.userId)", body: ["role": "basic"]).problemType?.hasSuffix("/privilege_escalation") == true)
            #expect(try await mia.send(.PATCH, "/orgs/acme/members/\(zoe.userId)", body: ["role": "wizard"]).status == 400)
            #expect(try await mia.send(.POST, "/orgs/acme/invitations", body: ["email": "q@example.com", "role": "admin"]).status == 403)
            // Without roles.manage, mia cannot widen her own role.
            #expect(try await mia.send(.PATCH, "/orgs/acme/roles/\(peopleId)", body: ["permissions": ["org.view", "members.manage", "keys.manage"]]).status == 403)
            #expect(try await mia.get("/orgs/acme/api-keys").status == 403)

            // A role in use cannot be deleted; a renamed role keeps its members.
            #expect(try await root.send(.DELETE, "/orgs/acme/roles/\(peopleId)").status == 409)
            let renamed = try await root.send(.PATCH, "/orgs/acme/roles/\(peopleId)", body: ["name": "staff"])
            #expect(renamed.status == 200, "\(renamed.body)")
            #expect(try await mia.get("/orgs/acme").json()["role"] as? String == "staff")

            // With a second owner, the first may step down; the second is then the last.
            #expect(try await root.send(.PATCH, "/orgs/acme/members/\(adam.userId)", body: ["role": "owner"]).status == 200)
            #expect(try await root.send(.PATCH, "/orgs/acme/members/\(root.userId)", body: ["role": "admin"]).status == 200)
            #expect(try await adam.send(.PATCH, "/orgs/acme/members/\(adam.userId)", body: ["role": "viewer"]).status == 409)
            #expect(try await adam.send(.DELETE, "/orgs/acme/members/\(zoe.userId)").status == 204)
            #expect(try await zoe.get("/orgs/acme").status == 404)

            // Pages: newest first, following next_cursor reaches every member once.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await root.get("/orgs/acme/members?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += try data(page).compactMap { $0["id"] as? String }
                cursor = try page.json()["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == [root.userId, adam.userId, mia.userId].sorted(by: >))
            #expect(try await root.get("/orgs/acme/members?limit=0").status == 400)

            // Renaming the organisation needs org.manage.
            #expect(try await root.send(.PATCH, "/orgs/acme", body: ["name": "Acme Ltd"]).json()["name"] as? String == "Acme Ltd")
            #expect(try await mia.send(.PATCH, "/orgs/acme", body: ["name": "Mine"]).status == 403)
        }
    }

    @Test func apiKeysAreCreatedListedRotatedAndRevoked() async throws {
        var rotatedKeyId: String?
        // Use is recorded in memory and written when the server shuts down at the latest.
        let lastUsedWasWritten: (DatabaseLocation) async throws -> Void = { location in
            let keyId = try #require(rotatedKeyId)
            let database = try await Database.open(location, poolSize: 1, logger: TestEnvironment.logger)
            var lastUsed: Int64?
            do {
                lastUsed = try await database.first("SELECT last_used_at FROM api_keys WHERE id = \(bind: keyId)")?.decode(column: "last_used_at", as: Int64?.self)
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            #expect(lastUsed != nil, "last_used_at of the used key was flushed")
        }
        try await withServer(afterStop: lastUsedWasWritten) { server, _, _ in
            let root = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let created = try await root.send(.POST, "/orgs/acme/api-keys", body: [
                "name": "ci", "expires_in": "30d", "allowed_models": ["gpt-4o"], "allowed_providers": ["oa"],
                "rate_limits": ["requests_per_minute": 60, "concurrent_requests": 2],
            ])
            #expect(created.status == 201, "\(created.body)")
            let ci = try created.json()
            let ciKey = try #require(ci["key"] as? String)
            #expect(ci["prefix"] as? String == String(ciKey.prefix(12)))
            #expect((ci["created_by"] as? [String: Any])?["id"] as? String == root.userId)
            #expect(ci["allowed_providers"] as? [String] == ["oa"])
            #expect((ci["rate_limits"] as? [String: Any])?["requests_per_minute"] as? Int == 60)
            let expiresAt = try #require(ci["expires_at"] as? Int64)
            #expect(abs(expiresAt - (EpochMillis.now() + 30 * 86_400_000)) < 60_000)
            for bad: [String: Any] in [
                ["name": "x", "rate_limits": ["requests_per_minute": 0]], ["name": "x", "rate_limits": ["per_day": 5]],
                ["name": "x", "expires_in": "forever"], ["name": "x", "allowed_providers": ["Not A Slug"]], ["name": "x", "allowed_models": [String]()],
                ["name": ""],
            ] {
                #expect(try await root.send(.POST, "/orgs/acme/api-keys", body: bad).status == 400, "\(bad)")
            }

            let app = try await root.send(.POST, "/orgs/acme/api-keys", body: ["name": "app"]).json()
            let appId = try #require(app["id"] as? String)
            let appKey = try #require(app["key"] as? String)
            let models = try await http.send(.GET, "\(server.baseURL)/v1/models", headers: [("Authorization", "Bearer \(appKey)")])
            #expect(models.status == 200)
            #expect(try data(models).isEmpty, "no providers configured")
            let listed = try await root.get("/orgs/acme/api-keys")
            #expect(!listed.body.contains(appKey) && !listed.body.contains(ciKey), "secrets are never listed")
            #expect(try data(listed).allSatisfy { $0["key"] == nil })

            // Rotation: the new key works at once, the old one stops, and points at its successor.
            let rotated = try await root.send(.POST, "/orgs/acme/api-keys/\(appId)/rotate")
            #expect(rotated.status == 201, "\(rotated.body)")
            let nextId = try #require(try rotated.json()["id"] as? String)
            let nextKey = try #require(try rotated.json()["key"] as? String)
            #expect(try rotated.json()["name"] as? String == "app")
            #expect(try await modelsStatus(server, nextKey) == 200)
            #expect(try await eventually { try await modelsStatus(server, appKey) == 401 })
            let old = try data(await root.get("/orgs/acme/api-keys")).first { $0["id"] as? String == appId }
            #expect(old?["status"] as? String == "revoked")
            #expect(old?["rotated_to"] as? String == nextId)
            #expect(try await root.send(.POST, "/orgs/acme/api-keys/\(appId)/rotate").status == 409)

            // Revocation.
            #expect(try await root.send(.DELETE, "/orgs/acme/api-keys/\(nextId)").status == 204)
            #expect(try await eventually { try await modelsStatus(server, nextKey) == 401 })
            #expect(try await root.send(.DELETE, "/orgs/acme/api-keys/missing").status == 404)
            let actions = try data(await root.get("/orgs/acme/audit-log?target_id=\(appId)")).compactMap { $0["action"] as? String }
            #expect(actions == ["api_key.rotated", "api_key.created"])
            rotatedKeyId = nextId
        }
    }

    @Test func disablingAUserAndSuspendingAnOrganisationTakeEffectAtOnce() async throws {
        try await withServer(["AIHIGRESS_OPEN_REGISTRATION": "true"]) { server, _, cliKey in
            let root = try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
            let dev = try await ManagementClient.register(server, email: "dev@example.com")
            #expect(try await root.send(.POST, "/orgs/acme/members", body: ["email": "dev@example.com", "role": "developer"]).status == 201)
            let devKey = try #require(try await dev.send(.POST, "/orgs/acme/api-keys", body: ["name": "dev"]).json()["key"] as? String)
            #expect(try await modelsStatus(server, devKey) == 200)
            #expect(try await dev.get("/system/users").status == 403)

            #expect(try await root.send(.PATCH, "/system/users/\(root.userId)", body: ["status": "disabled"]).status == 409)
            let disabled = try await root.send(.PATCH, "/system/users/\(dev.userId)", body: ["status": "disabled"])
            #expect(disabled.status == 200, "\(disabled.body)")
            #expect(try disabled.json()["api_keys_revoked"] as? Int == 1)
            let me = try await dev.get("/auth/me")
            #expect(me.status == 401)
            #expect(try await eventually { try await modelsStatus(server, devKey) == 401 })
            #expect(try await modelsStatus(server, cliKey) == 200, "other keys of the organisation keep working")
            let login = try await http.send(.POST, "\(server.baseURL)/auth/login", headers: [("Content-Type", "application/json")],
                                            body: json(["email": "dev@example.com", "password": "password1"]))
            #expect(login.status == 403)
            let listed = try data(await root.get("/system/users?q=dev%40"))
            #expect(listed.count == 1)
            #expect(listed.first?["status"] as? String == "disabled")
            #expect(try data(await root.get("/system/audit-log?action=user.disabled")).first?["target"].flatMap { ($0 as? [String: Any])?["id"] as? String } == dev.userId)

            // Suspension: the organisation's keys and routes stop; reactivation brings them back.
            let suspended = try await root.send(.PATCH, "/system/orgs/acme", body: ["status": "suspended"])
            #expect(suspended.status == 200, "\(suspended.body)")
            #expect(try await eventually { try await modelsStatus(server, cliKey) == 403 })
            let orgRoute = try await root.get("/orgs/acme/members")
            #expect(orgRoute.status == 403)
            #expect(orgRoute.problemType?.hasSuffix("/organization_suspended") == true)
            #expect(try data(await root.get("/orgs")).first { $0["slug"] as? String == "acme" }?["status"] as? String == "suspended")
            #expect(try data(await root.get("/system/orgs?q=acm")).first?["status"] as? String == "suspended")
            #expect(try await root.send(.PATCH, "/system/orgs/acme", body: ["status": "deleted"]).status == 400)
            #expect(try await root.send(.PATCH, "/system/orgs/acme", body: ["status": "active"]).status == 200)
            #expect(try await eventually { try await modelsStatus(server, cliKey) == 200 })
            #expect(try await root.get("/orgs/acme/members").status == 200)
            let orgLog = try data(await root.get("/system/audit-log?org=acme&action=org.suspended"))
            #expect(orgLog.count == 1)
        }
    }

    @Test func allowedProvidersAreEnforcedAtRequestTime() async throws {
        try await GatewayHarness.withRunning { h in
            let root = try await ManagementClient.login(h.server, email: "owner@example.com", password: "password1")
            let created = try await root.send(.POST, "/orgs/acme/api-keys", body: ["name": "anthropic-only", "allowed_providers": ["an"]])
            let key = try #require(try created.json()["key"] as? String)
            let auth = [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")]
            func chat(_ model: String) async throws -> HTTPTestClient.Reply {
                let (path, body) = Ingress.chat.request(model: model, prompt: "hi", stream: false)
                return try await http.send(.POST, h.base + path, headers: auth, body: JSONText.render(body))
            }
            let pinned = try await chat("oa/gpt-fake")
            #expect(pinned.status == 403)
            #expect(try pinned.openAIError()["code"] as? String == "provider_not_allowed")
            #expect(try await chat("an/claude-fake").status == 200)
            #expect(try await chat("claude-fake").status == 200)
            #expect(try await chat("gpt-fake").status == 404, "only allowed providers are considered")
            let (_, messagesBody) = Ingress.messages.request(model: "oa/gpt-fake", prompt: "hi", stream: false)
            let anthropic = try await http.send(.POST, h.base + "/v1/messages", headers: auth, body: JSONText.render(messagesBody))
            #expect(anthropic.status == 403)
            #expect((try anthropic.json()["error"] as? [String: Any])?["type"] as? String == "permission_error")
        }
    }
}
