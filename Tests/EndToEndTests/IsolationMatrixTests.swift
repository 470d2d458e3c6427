import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// THE ISOLATION MATRIX. The routes come from the running server's `/openapi.json`, which is generated from the
/// router's own route list, so a new endpoint is covered the moment it is registered. For every organisation
/// route (`x-permission`):
/// - a member of A using B's organisation (id and slug) gets 404;
/// - a member of A using A's organisation but B's member/key/role/invitation ids gets 404;
/// - a member of A whose custom role holds no permissions gets 403 with A's own ids;
/// every system route answers 403 to a non-administrator, every route that is not open answers 401 without
/// credentials, and signed-in routes that take ids refuse other users' ids. A path parameter this test does not
/// know fails it: add a fixture for it.
@Suite struct IsolationMatrixTests {
    struct Operation: CustomStringConvertible {
        let method: HTTPMethod
        let path: String
        let permission: String?
        let access: String?
        let open: Bool

        var description: String { "\(method.rawValue) \(path)" }
        var parameters: [String] {
            path.split(separator: "/").compactMap { $0.hasPrefix("{") && $0.hasSuffix("}") ? String($0.dropFirst().dropLast()) : nil }
        }
    }

    /// One organisation's fixtures.
    struct Tenant {
        let owner: ManagementClient
        let orgId: String
        let slug: String
        let memberId: String
        let keyId: String
        let key: String
        let roleId: String
        let invitationId: String
        let invitationToken: String
        let logicalModelId: String

        /// Values for every organisation-route path parameter; `org` is filled separately.
        var ids: [String: String] {
            ["user": memberId, "key": keyId, "role": roleId, "invitation": invitationId, "model": logicalModelId, "upstream": "no-such-upstream",
             "session": "no-such-session", "provider": "no-such-provider"]
        }
    }

    /// Bodies valid enough that a handler gets past parsing to its lookup (authorization comes before the body
    /// anyway); anything else gets `{}`.
    static func plausibleBody(_ operation: Operation) -> [String: Any]? {
        let bodies: [String: [String: Any]] = [
        "PATCH /orgs/{org}/members/{user}": ["role": "viewer"],
        "PATCH /orgs/{org}/roles/{role}": ["description": "changed"],
        "PATCH /orgs/{org}": ["name": "Renamed"],
        "POST /orgs/{org}/members": ["email": "nobody@example.com", "role": "viewer"],
        "POST /orgs/{org}/invitations": ["email": "nobody@example.com", "role": "viewer"],
        "POST /orgs/{org}/roles": ["name": "probe", "permissions": [String]()],
        "POST /orgs/{org}/api-keys": ["name": "probe"],
        ]
        return bodies["\(operation.method.rawValue) \(operation.path)"]
    }

    @Test func everyOrganisationRouteIsScopedToItsOrganisationAndChecksItsPermission() async throws {
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location, extra: ["AIHIGRESS_OPEN_REGISTRATION": "true"])
            _ = try await deployment.organisationWithKey()
            try await deployment.withServer { server in try await runMatrix(server) }
        }
    }

    private func runMatrix(_ server: ServerProcess) async throws {
        let operations = try await Self.operations(server)
        let organisational = operations.filter { $0.permission != nil }
        #expect(organisational.count >= 20, "the organisation API is registered: \(organisational)")

        let a = try await tenant(server, owner: "alice@a.example", slug: "org-a", member: "dave@a.example")
        let b = try await tenant(server, owner: "bob@b.example", slug: "org-b", member: "carol@b.example")
        let dave = try await ManagementClient.login(server, email: "dave@a.example", password: "password1")

        for operation in organisational {
            let body = operation.method == .GET || operation.method == .DELETE
                ? nil : Self.plausibleBody(operation) ?? [:]
            // (a) B's organisation, by slug and by id, with B's ids: 404 as if it did not exist.
            for orgRef in [b.slug, b.orgId] {
                guard let path = fill(operation, org: orgRef, ids: b.ids) else { continue }
                let reply = try await a.owner.send(operation.method, path, body: body)
                #expect(reply.status == 404, "\(operation) as a member of A on B (\(orgRef)): \(reply.status) \(reply.body)")
                #expect(reply.problemType?.hasSuffix("/organization_not_found") == true, "\(operation): \(reply.body)")
            }
            // (a) A's organisation with B's member/key/role/invitation ids: 404 from the handler's own scoping.
            if operation.parameters.count > 1, let path = fill(operation, org: a.slug, ids: b.ids) {
                let reply = try await a.owner.send(operation.method, path, body: body)
                #expect(reply.status == 404, "\(operation) in A with B's ids: \(reply.status) \(reply.body)")
            }
            // (b) A member of A without permissions, on A's own ids: 403.
            if let path = fill(operation, org: a.orgId, ids: a.ids) {
                let reply = try await dave.send(operation.method, path, body: body)
                #expect(reply.status == 403, "\(operation) by a member without '\(operation.permission!)': \(reply.status) \(reply.body)")
                #expect(reply.problemType?.hasSuffix("/permission_denied") == true, "\(operation): \(reply.body)")
            }
        }

        // System routes: 403 to anyone who is not a system administrator.
        let systemIds = [
            "user": b.memberId, "org": b.orgId, "code": "no-such-grant-code", "payment": "no-such-payment", "model": b.logicalModelId,
            "upstream": "no-such-upstream",
        ]
        for operation in operations where operation.access == "system administrator" {
            guard let path = fill(operation, org: nil, ids: systemIds) else { continue }
            let reply = try await a.owner.send(operation.method, path, body: operation.method == .GET ? nil : [:])
            #expect(reply.status == 403, "\(operation) by a non-administrator: \(reply.status) \(reply.body)")
        }

        // API-key routes act in the key's own organisation: B's key finds none of A's resources, and a signed-in
        // user's access token is not an API key.
        let keyRoutes = operations.filter { $0.access == "api key" }
        #expect(keyRoutes.count >= 5, "the key-facing routes are registered: \(keyRoutes)")
        for operation in keyRoutes {
            guard let path = fill(operation, org: nil, ids: a.ids) else { continue }
            let body = operation.method == .GET || operation.method == .DELETE ? nil : Self.plausibleBody(operation) ?? ["model": "gpt-4o"]
            let headers = [("Authorization", "Bearer \(b.key)"), ("Content-Type", "application/json")]
            let reply = try await http.send(operation.method, server.baseURL + path, headers: headers, body: try body.map(json))
            if operation.parameters.isEmpty {
                #expect(reply.status < 500, "\(operation) with B's key: \(reply.status) \(reply.body)")
            } else {
                #expect(reply.status == 404, "\(operation) with B's key on A's ids: \(reply.status) \(reply.body)")
            }
            let asUser = try await a.owner.send(operation.method, path, body: body)
            #expect(asUser.status == 401, "\(operation) with an access token instead of a key: \(asUser.status) \(asUser.body)")
        }

        // Signed-in routes that take ids: another user's session is not found; another person's invitation is refused.
        let bob = b.owner
        let signedInIds: [String: (value: String, status: Int)] = [
            "session": (bob.sessionId, 404),
            "token": (b.invitationToken, 403),
            "provider": ("not-configured", 404),
        ]
        for operation in operations where operation.access == "signed-in user" && !operation.parameters.isEmpty {
            var path = operation.path
            var expected = 404
            var known = true
            for name in operation.parameters {
                guard let entry = signedInIds[name] else {
                    Issue.record("\(operation): no fixture for path parameter '\(name)'; add one to IsolationMatrixTests")
                    known = false
                    break
                }
                path = path.replacingOccurrences(of: "{\(name)}", with: entry.value)
                expected = entry.status
            }
            guard known else { continue }
            let reply = try await a.owner.send(operation.method, path, body: operation.method == .GET ? nil : [:])
            #expect(reply.status == expected, "\(operation) with another user's id: \(reply.status) \(reply.body)")
        }

        // No credentials: 401 everywhere but the open routes.
        for operation in operations where !operation.open {
            let path = operation.path.replacingOccurrences(of: "{", with: "x").replacingOccurrences(of: "}", with: "")
            let reply = try await http.send(operation.method, server.baseURL + path, headers: [("Content-Type", "application/json")], body: "{}")
            #expect(reply.status == 401, "\(operation) without credentials: \(reply.status) \(reply.body)")
        }

        // Nothing of B's changed on the way: its key works, its member, role and invitation are all still there,
        // and bob is still signed in.
        #expect(try await http.send(.GET, "\(server.baseURL)/v1/models", headers: [("Authorization", "Bearer \(b.key)")]).status == 200)
        let members = try await bob.get("/orgs/\(b.slug)/members")
        #expect(members.status == 200)
        #expect(members.body.contains(b.memberId))
        #expect(try await bob.get("/orgs/\(b.slug)/roles").body.contains(b.roleId))
        #expect(try await bob.get("/orgs/\(b.slug)/invitations").body.contains(b.invitationId))
        let keys = try await bob.get("/orgs/\(b.slug)/api-keys")
        #expect(try (keys.json()["data"] as? [[String: Any]])?.first { $0["id"] as? String == b.keyId }?["status"] as? String == "active")
        #expect(try await bob.get("/orgs/\(b.slug)").json()["name"] as? String == "org-b")
    }

    /// Fills the path from `ids`; records a failure when a parameter has no fixture.
    private func fill(_ operation: Operation, org: String?, ids: [String: String]) -> String? {
        var path = operation.path
        for name in operation.parameters {
            let value = name == "org" ? (org ?? ids["org"]) : ids[name]
            guard let value else {
                Issue.record("\(operation): no fixture for path parameter '\(name)'; add one to IsolationMatrixTests")
                return nil
            }
            path = path.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return path
    }

    /// An owner, their organisation, a member whose custom role has no permissions, an API key and an open invitation.
    private func tenant(_ server: ServerProcess, owner email: String, slug: String, member: String) async throws -> Tenant {
        let owner = try await ManagementClient.register(server, email: email)
        let org = try await owner.send(.POST, "/orgs", body: ["slug": slug])
        guard org.status == 201, let orgId = try org.json()["id"] as? String else { throw TestSetupError("create org: \(org.body)") }
        let role = try await owner.send(.POST, "/orgs/\(slug)/roles", body: ["name": "nothing", "permissions": [String]()])
        guard role.status == 201, let roleId = try role.json()["id"] as? String else { throw TestSetupError("create role: \(role.body)") }
        let memberClient = try await ManagementClient.register(server, email: member)
        let added = try await owner.send(.POST, "/orgs/\(slug)/members", body: ["email": member, "role": "nothing"])
        guard added.status == 201 else { throw TestSetupError("add member: \(added.body)") }
        let key = try await owner.send(.POST, "/orgs/\(slug)/api-keys", body: ["name": "fixture"])
        guard key.status == 201, let keyId = try key.json()["id"] as? String, let secret = try key.json()["key"] as? String else {
            throw TestSetupError("create key: \(key.body)")
        }
        let invitation = try await owner.send(.POST, "/orgs/\(slug)/invitations", body: ["email": "invitee@\(slug).example", "role": "viewer"])
        guard invitation.status == 201, let invitationId = try invitation.json()["id"] as? String,
            let token = try invitation.json()["token"] as? String
        else { throw TestSetupError("invite: \(invitation.body)") }
        let logical = try await owner.send(.POST, "/orgs/\(slug)/logical-models", body: ["name": "fixture"])
        guard logical.status == 201, let logicalId = try logical.json()["id"] as? String else { throw TestSetupError("logical model: \(logical.body)") }
        return Tenant(
            owner: owner, orgId: orgId, slug: slug, memberId: memberClient.userId, keyId: keyId, key: secret, roleId: roleId,
            invitationId: invitationId, invitationToken: token, logicalModelId: logicalId
        )
    }

    static func operations(_ server: ServerProcess) async throws -> [Operation] {
        let reply = try await http.send(.GET, "\(server.baseURL)/openapi.json")
        guard reply.status == 200, let paths = try reply.json()["paths"] as? [String: [String: Any]] else {
            throw TestSetupError("no paths in /openapi.json: \(reply.status)")
        }
        var out: [Operation] = []
        for (path, methods) in paths {
            for (method, value) in methods {
                guard let operation = value as? [String: Any] else { continue }
                out.append(Operation(
                    method: HTTPMethod(rawValue: method.uppercased()), path: path, permission: operation["x-permission"] as? String,
                    access: operation["x-access"] as? String, open: (operation["security"] as? [Any])?.isEmpty == true
                ))
            }
        }
        return out.sorted { $0.description < $1.description }
    }
}
