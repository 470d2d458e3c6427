import Core
import SQLKit
import Testing
import TestSupport
@testable import Tenancy

/// The membership rules at service level, against both databases: last owner, no privilege escalation, role
/// validity, scoping by organisation, pagination, and key-use tracking without a write per request.
@Suite struct OrganizationRulesTests {
    private let client = ClientInfo(ip: "127.0.0.1", userAgent: "tests")

    private struct Fixture {
        let org: Organization
        let other: Organization
        let owner: User
        let users: [User]
    }

    private func fixture(_ database: Database, extraUsers: Int = 3) async throws -> Fixture {
        try await database.transaction { db in
            let directory = Directory()
            let org = try await directory.createOrganization(slug: "acme", name: "Acme", on: db)
            let other = try await directory.createOrganization(slug: "other", name: "Other", on: db)
            let owner = try await directory.createUser(email: "owner@example.com", passwordHash: nil, systemAdmin: false, on: db)
            try await directory.addMember(userId: owner.id, orgId: org.id, role: "owner", on: db)
            var users: [User] = []
            for index in 0..<extraUsers {
                users.append(try await directory.createUser(email: "user\(index)@example.com", passwordHash: nil, systemAdmin: false, on: db))
            }
            return Fixture(org: org, other: other, owner: owner, users: users)
        }
    }

    private func access(_ org: Organization, _ role: String, _ permissions: Set<Permission>? = nil) -> OrgAccess {
        OrgAccess(org: org, role: role, permissions: permissions ?? BuiltInRole(rawValue: role)?.permissions ?? [])
    }

    private func expectError(_ status: Int, _ code: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(status) \(code)")
        } catch let error as APIError {
            #expect(Int(error.status.code) == status, "\(error)")
            #expect(error.code == code, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theLastOwnerCannotBeRemovedOrDemoted() async throws {
        try await TestDatabase.withMigrated { database in
            let f = try await fixture(database)
            let members = Members(database: database)
            let owner = access(f.org, "owner")
            await expectError(409, "last_owner") { _ = try await members.changeRole(userId: f.owner.id, to: "admin", by: owner, actor: .user(f.owner.id), client: client) }
            await expectError(409, "last_owner") { try await members.remove(userId: f.owner.id, by: owner, actor: .user(f.owner.id), client: client) }
            // With a second owner, the first may step down; then the second is the last one.
            _ = try await members.add(email: "user0@example.com", role: "owner", by: owner, actor: .user(f.owner.id), client: client)
            _ = try await members.changeRole(userId: f.owner.id, to: "viewer", by: owner, actor: .user(f.owner.id), client: client)
            await expectError(409, "last_owner") {
                try await members.remove(userId: f.users[0].id, by: access(f.org, "owner"), actor: .user(f.users[0].id), client: client)
            }
            let owners = try await database.query("SELECT user_id FROM memberships WHERE org_id = \(bind: f.org.id) AND role = 'owner'")
            #expect(owners.count == 1)
        }
    }

    @Test func nonOwnersCannotGrantMoreThanTheyHold() async throws {
        try await TestDatabase.withMigrated { database in
            let f = try await fixture(database)
            let members = Members(database: database)
            let roles = CustomRoles(database: database)
            let owner = access(f.org, "owner")
            let admin = access(f.org, "admin")
            _ = try await members.add(email: "user0@example.com", role: "developer", by: owner, actor: .user(f.owner.id), client: client)
            // Admins hold every permission but may not hand out or touch the owner role.
            await expectError(403, "owner_required") { _ = try await members.changeRole(userId: f.users[0].id, to: "owner", by: admin, actor: .system, client: client) }
            await expectError(403, "owner_required") { _ = try await members.changeRole(userId: f.owner.id, to: "viewer", by: admin, actor: .system, client: client) }
            await expectError(403, "owner_required") { try await members.remove(userId: f.owner.id, by: admin, actor: .system, client: client) }
            // A manager holding only member permissions cannot give out keys.manage, nor strip it from someone who has it.
            let manager = access(f.org, "people", [.orgView, .membersView, .membersManage, .rolesManage])
            await expectError(403, "privilege_escalation") {
                _ = try await members.add(email: "user1@example.com", role: "developer", by: manager, actor: .system, client: client)
            }
            await expectError(403, "privilege_escalation") {
                _ = try await members.changeRole(userId: f.users[0].id, to: "viewer", by: manager, actor: .system, client: client)
            }
            await expectError(403, "privilege_escalation") {
                _ = try await roles.create(name: "keys", description: nil, permissions: ["keys.manage"], by: manager, actor: .system, client: client)
            }
            let small = try await roles.create(name: "readers", description: "read only", permissions: ["org.view", "members.view"], by: manager, actor: .system, client: client)
            _ = try await members.add(email: "user1@example.com", role: "readers", by: manager, actor: .system, client: client)
            // Unknown roles and other organisations' roles are 400s; other organisations' members 404s.
            await expectError(400, "unknown_role") { _ = try await members.changeRole(userId: f.users[1].id, to: "nope", by: owner, actor: .system, client: client) }
            await expectError(404, "member_not_found") {
                _ = try await members.changeRole(userId: f.users[2].id, to: "viewer", by: owner, actor: .system, client: client)
            }
            let roleId = try #require(small.objectValue?["id"]?.stringValue)
            await expectError(404, "role_not_found") {
                try await roles.delete(id: roleId, by: access(f.other, "owner"), actor: .system, client: client)
            }
            await expectError(409, "role_in_use") { try await roles.delete(id: roleId, by: owner, actor: .system, client: client) }
            await expectError(400, "reserved_role_name") {
                _ = try await roles.create(name: "admin", description: nil, permissions: [], by: owner, actor: .system, client: client)
            }
            await expectError(400, "unknown_permission") {
                _ = try await roles.create(name: "x", description: nil, permissions: ["keys.steal"], by: owner, actor: .system, client: client)
            }
            // Renaming carries the members along.
            _ = try await roles.update(id: roleId, .init(name: "watchers", description: nil, permissions: nil), by: owner, actor: .system, client: client)
            let role = try await database.first("SELECT role FROM memberships WHERE org_id = \(bind: f.org.id) AND user_id = \(bind: f.users[1].id)")
            #expect(try role?.decode(column: "role", as: String.self) == "watchers")
        }
    }

    @Test func membersAreListedInPagesNewestFirst() async throws {
        try await TestDatabase.withMigrated { database in
            let f = try await fixture(database, extraUsers: 5)
            let members = Members(database: database)
            for user in f.users {
                _ = try await members.add(email: user.email, role: "viewer", by: access(f.org, "owner"), actor: .system, client: client)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await members.list(orgId: f.org.id, page: PageRequest(cursor: cursor, limit: 2))
                #expect(page.items.count <= 2)
                seen += page.items.compactMap { $0.objectValue?["id"]?.stringValue }
                cursor = page.next
            } while cursor != nil
            let expected = ([f.owner.id] + f.users.map(\.id)).sorted(by: >)
            #expect(seen == expected)
            #expect(try await members.list(orgId: f.other.id, page: PageRequest(cursor: nil, limit: 50)).items.isEmpty)
        }
    }

    @Test func organisationCreationCanBeTurnedOff() async throws {
        try await TestDatabase.withMigrated { database in
            let f = try await fixture(database)
            var settings = try AppConfig.load(from: [:]).auth
            settings.allowOrganizationCreation = false
            await expectError(403, "organization_creation_disabled") {
                _ = try await Organizations(database: database, settings: settings).create(slug: "new-org", name: nil, userId: f.owner.id, client: client)
            }
            settings.allowOrganizationCreation = true
            let created = try await Organizations(database: database, settings: settings).create(slug: "new-org", name: "New", userId: f.owner.id, client: client)
            #expect(created.objectValue?["role"]?.stringValue == "owner")
            await expectError(409, "slug_taken") {
                _ = try await Organizations(database: database, settings: settings).create(slug: "new-org", name: nil, userId: f.owner.id, client: client)
            }
        }
    }

    @Test func keyUseIsRecordedInMemoryAndFlushedForwardOnly() async throws {
        try await TestDatabase.withMigrated { database in
            let f = try await fixture(database)
            let ring = KeyRing(secret: TestEnvironment.secret)
            let state = InProcessSharedState()
            let keys = APIKeys(database: database, keyRing: ring, sharedState: state)
            let auth = APIKeyAuthenticator(database: database, keyRing: ring, sharedState: state, logger: TestEnvironment.logger)
            let a = try await keys.create(orgId: f.org.id, .init(name: "a", allowedProviders: ["oa"]), createdBy: f.owner.id, client: client)
            let b = try await keys.create(orgId: f.org.id, .init(name: "b"), createdBy: f.owner.id, client: client)
            let identity = try await auth.authenticate(a.key)
            #expect(identity.allowedProviders == ["oa"])
            #expect(identity.mayUse(providerSlug: "oa") && !identity.mayUse(providerSlug: "an"))
            _ = try await auth.authenticate(b.key)
            func lastUsed(_ id: String) async throws -> Int64? {
                try await database.first("SELECT last_used_at FROM api_keys WHERE id = \(bind: id)")?.decode(column: "last_used_at", as: Int64?.self)
            }
            #expect(try await lastUsed(a.id) == nil, "no write per request")
            await auth.flushUsage()
            let first = try #require(try await lastUsed(a.id))
            #expect(try await lastUsed(b.id) != nil)
            // A later flush never moves the time backwards.
            try await database.execute("UPDATE api_keys SET last_used_at = \(bind: first + 60_000) WHERE id = \(bind: a.id)")
            _ = try await auth.authenticate(a.key)
            await auth.flushUsage()
            #expect(try await lastUsed(a.id) == first + 60_000)
            await state.shutdown()
        }
    }
}
