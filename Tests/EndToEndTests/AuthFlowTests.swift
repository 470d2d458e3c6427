import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Sign-in, refresh rotation, reuse detection, logout, devices, lockout and password change over HTTP against the
/// real server, on both databases.
@Suite struct AuthFlowTests {
    static let open = ["AIHIGRESS_OPEN_REGISTRATION": "true"]

    @Test func registrationIsClosedUnlessOpenedOrInvited() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location).start()
            let reply = try await http.send(
                .POST, "\(server.baseURL)/auth/register", headers: [("Content-Type", "application/json")],
                body: try json(["email": "x@example.com", "password": "password1"])
            )
            #expect(reply.status == 403)
            #expect(reply.problemType?.hasSuffix("/registration_closed") == true)
            try await server.stop()
        }
    }

    @Test func loginRefreshRotatesAndReuseRevokesTheFamily() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open.merging(["AIHIGRESS_REFRESH_GRACE_SECONDS": "1"]) { $1 }).start()
            let registered = try await ManagementClient.register(server, email: "Dev@Example.com")
            let me = try await registered.get("/auth/me")
            #expect(me.status == 200)
            #expect(try me.json()["email"] as? String == "dev@example.com")
            // Duplicate email: conflict, nothing created.
            let again = try await http.send(
                .POST, "\(server.baseURL)/auth/register", headers: [("Content-Type", "application/json")],
                body: try json(["email": "dev@example.com", "password": "password1"])
            )
            #expect(again.status == 409)

            let client = try await ManagementClient.login(server, email: "dev@example.com", password: "password1")
            let first = try await refresh(server, client.refreshToken)
            #expect(first.status == 200)
            let rotated = try ManagementClient(baseURL: server.baseURL, tokens: first.json())
            #expect(rotated.refreshToken != client.refreshToken)
            #expect(rotated.sessionId == client.sessionId)
            #expect(try await rotated.get("/auth/me").status == 200)
            // The successor rotates too.
            let second = try await refresh(server, rotated.refreshToken)
            #expect(second.status == 200)
            let latest = try ManagementClient(baseURL: server.baseURL, tokens: second.json())

            // Presenting the first token again after the grace window: the whole session is revoked.
            try await Task.sleep(for: .milliseconds(1300))
            let reuse = try await refresh(server, client.refreshToken)
            #expect(reuse.status == 401)
            #expect(reuse.problemType?.hasSuffix("/refresh_token_reused") == true)
            #expect(try await refresh(server, latest.refreshToken).status == 401)
            let dead = try await latest.get("/auth/me")
            #expect(dead.status == 401)
            #expect(dead.problemType?.hasSuffix("/session_ended") == true)
            // The other session (from registration) is untouched, and was told about the reuse.
            let notifications = try await registered.get("/auth/notifications")
            #expect(notifications.status == 200)
            let kinds = (try notifications.json()["data"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
            #expect(kinds.contains("session.refresh_reuse_detected"))

            // Garbage and unknown tokens are plain 401s.
            #expect(try await refresh(server, "nonsense").status == 401)
            #expect(try await refresh(server, "ahr-" + String(repeating: "a", count: 64)).status == 401)
            let missing = try await http.send(.POST, "\(server.baseURL)/auth/refresh", headers: [("Content-Type", "application/json")], body: "{}")
            #expect(missing.status == 400)
            try await server.stop()
        }
    }

    @Test func concurrentRefreshesWithinTheGraceWindowGetTheSameSuccessor() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open).start()
            let client = try await ManagementClient.register(server, email: "tabs@example.com")
            let token = client.refreshToken
            let replies = try await withThrowingTaskGroup(of: HTTPTestClient.Reply.self) { group in
                for _ in 0..<4 { group.addTask { try await refresh(server, token) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.map(\.status) == [200, 200, 200, 200])
            let successors = Set(try replies.map { try $0.json()["refresh_token"] as? String ?? "" })
            #expect(successors.count == 1)
            #expect(!successors.contains(token))
            // The session is alive and the shared successor keeps working.
            let next = try await refresh(server, successors.first!)
            #expect(next.status == 200)
            let latest = try ManagementClient(baseURL: server.baseURL, tokens: next.json())
            #expect(try await latest.get("/auth/me").status == 200)
            try await server.stop()
        }
    }

    @Test func logoutRemoteRevocationAndLogoutAll() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open).start()
            _ = try await ManagementClient.register(server, email: "multi@example.com")
            let laptop = try await ManagementClient.login(server, email: "multi@example.com", password: "password1", headers: [("User-Agent", "Laptop/1.0")])
            let phone = try await ManagementClient.login(server, email: "multi@example.com", password: "password1", headers: [("User-Agent", "Phone/2.0")])
            let tablet = try await ManagementClient.login(server, email: "multi@example.com", password: "password1", headers: [("User-Agent", "Tablet/3.0")])

            let sessions = try await laptop.get("/auth/sessions")
            let listed = try sessions.json()["data"] as? [[String: Any]] ?? []
            #expect(listed.count == 4)
            let phoneEntry = listed.first { $0["id"] as? String == phone.sessionId }
            #expect(phoneEntry?["user_agent"] as? String == "Phone/2.0")
            #expect((phoneEntry?["device"] as? [String: Any])?["id"] != nil)
            #expect(((phoneEntry?["location"] as? [String: Any])?["ip"] as? String) == "127.0.0.1")
            #expect(listed.filter { $0["current"] as? Bool == true }.map { $0["id"] as? String } == [laptop.sessionId])

            // Sign the phone out from the laptop: its access token and refresh token stop at once.
            #expect(try await laptop.send(.DELETE, "/auth/sessions/\(phone.sessionId)").status == 204)
            #expect(try await phone.get("/auth/me").status == 401)
            #expect(try await refresh(server, phone.refreshToken).status == 401)
            // Unknown ids are 404.
            #expect(try await laptop.send(.DELETE, "/auth/sessions/\(UUID().uuidString.lowercased())").status == 404)

            // Logout ends only this session.
            #expect(try await tablet.send(.POST, "/auth/logout").status == 204)
            #expect(try await tablet.get("/auth/me").status == 401)
            #expect(try await refresh(server, tablet.refreshToken).status == 401)
            #expect(try await laptop.get("/auth/me").status == 200)

            // Logout-all ends every session, including the caller's.
            #expect(try await laptop.send(.POST, "/auth/logout-all").status == 204)
            #expect(try await laptop.get("/auth/me").status == 401)
            #expect(try await refresh(server, laptop.refreshToken).status == 401)
            try await server.stop()
        }
    }

    @Test func repeatedFailuresLockTheAccountForThatClient() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(
                database: location, extra: Self.open.merging(["AIHIGRESS_LOGIN_LOCK_THRESHOLD": "3", "AIHIGRESS_LOGIN_LOCK_SECONDS": "5"]) { $1 }
            ).start()
            _ = try await ManagementClient.register(server, email: "victim@example.com")
            func attempt(_ password: String, email: String = "victim@example.com") async throws -> HTTPTestClient.Reply {
                try await http.send(
                    .POST, "\(server.baseURL)/auth/login", headers: [("Content-Type", "application/json")],
                    body: try json(["email": email, "password": password])
                )
            }
            for _ in 0..<3 { #expect(try await attempt("wrong-password").status == 401) }
            // Locked now: even the right password is refused until the lock ends.
            let locked = try await attempt("password1")
            #expect(locked.status == 429)
            #expect(locked.problemType?.hasSuffix("/login_locked") == true)
            let retryAfter = Int(locked.headers.first(name: "retry-after") ?? "") ?? 0
            #expect((1...5).contains(retryAfter))
            // Unknown emails answer the same way as wrong passwords.
            let unknown = try await attempt("password1", email: "nobody@example.com")
            #expect(unknown.status == 401)
            #expect(unknown.problemType?.hasSuffix("/invalid_credentials") == true)

            try await Task.sleep(for: .milliseconds(5200))
            #expect(try await attempt("password1").status == 200)
            try await server.stop()
        }
    }

    @Test func passwordChangeEndsEveryOtherSession() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open).start()
            let current = try await ManagementClient.register(server, email: "pw@example.com")
            let other = try await ManagementClient.login(server, email: "pw@example.com", password: "password1")
            let wrong = try await current.send(.POST, "/auth/password", body: ["current_password": "nope-nope", "new_password": "password2"])
            #expect(wrong.status == 403)
            let short = try await current.send(.POST, "/auth/password", body: ["current_password": "password1", "new_password": "short"])
            #expect(short.status == 400)
            #expect(try short.problem()["param"] as? String == "password")
            #expect(try await current.send(.POST, "/auth/password", body: ["current_password": "password1", "new_password": "password2"]).status == 204)
            #expect(try await current.get("/auth/me").status == 200)
            #expect(try await other.get("/auth/me").status == 401)
            #expect(try await refresh(server, other.refreshToken).status == 401)
            let old = try await http.send(
                .POST, "\(server.baseURL)/auth/login", headers: [("Content-Type", "application/json")],
                body: try json(["email": "pw@example.com", "password": "password1"])
            )
            #expect(old.status == 401)
            _ = try await ManagementClient.login(server, email: "pw@example.com", password: "password2")
            try await server.stop()
        }
    }

    @Test func newDevicesAreAuditedAndNotified() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open).start()
            let device = "device-token-0123456789"
            let first = try await ManagementClient.register(server, email: "dev2@example.com")
            _ = try await ManagementClient.login(server, email: "dev2@example.com", password: "password1", headers: [("X-Device-Id", device), ("User-Agent", "A/1")])
            _ = try await ManagementClient.login(server, email: "dev2@example.com", password: "password1", headers: [("X-Device-Id", device), ("User-Agent", "A/1")])
            let kinds = (try await first.get("/auth/notifications").json()["data"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
            // Registration's device, then one new device; the repeat sign-in from the same device is not new.
            #expect(kinds == ["login.new_device"])
            try await server.stop()
        }
    }

    @Test func browserSessionsUseCookiesAndNeedTheCSRFHeaderToChangeThings() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open).start()
            _ = try await ManagementClient.register(server, email: "browser@example.com")
            let login = try await http.send(
                .POST, "\(server.baseURL)/auth/login", headers: [("Content-Type", "application/json")],
                body: try json(["email": "browser@example.com", "password": "password1", "use_cookies": true])
            )
            #expect(login.status == 200)
            #expect(try login.json()["access_token"] == nil)
            let setCookies = login.headers["set-cookie"]
            let cookies = Dictionary(uniqueKeysWithValues: setCookies.compactMap { header -> (String, String)? in
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
            })
            let access = try #require(cookies["ahg_access"])
            let csrf = try #require(cookies["ahg_csrf"])
            let refreshCookie = try #require(cookies["ahg_refresh"])
            #expect(setCookies.first { $0.hasPrefix("ahg_access=") }?.contains("HttpOnly") == true)
            #expect(setCookies.first { $0.hasPrefix("ahg_access=") }?.contains("SameSite=Lax") == true)
            #expect(setCookies.first { $0.hasPrefix("ahg_csrf=") }?.contains("HttpOnly") == false)
            #expect(setCookies.contains { $0.hasPrefix("ahg_device=") })

            let cookieHeader = ("Cookie", "ahg_access=\(access)")
            #expect(try await http.send(.GET, "\(server.baseURL)/auth/me", headers: [cookieHeader]).status == 200)
            let forged = try await http.send(.POST, "\(server.baseURL)/auth/logout", headers: [cookieHeader])
            #expect(forged.status == 403)
            #expect(forged.problemType?.hasSuffix("/csrf_failed") == true)
            let wrongToken = try await http.send(.POST, "\(server.baseURL)/auth/logout", headers: [cookieHeader, ("X-CSRF-Token", (csrf.hasPrefix("x") ? "y" : "x") + csrf.dropFirst())])
            #expect(wrongToken.status == 403)

            // Refresh from the cookie answers with cookies again.
            let refreshed = try await http.send(.POST, "\(server.baseURL)/auth/refresh", headers: [("Cookie", "ahg_refresh=\(refreshCookie)")])
            #expect(refreshed.status == 200)
            #expect(refreshed.headers["set-cookie"].contains { $0.hasPrefix("ahg_access=") })

            let logout = try await http.send(.POST, "\(server.baseURL)/auth/logout", headers: [cookieHeader, ("X-CSRF-Token", csrf)])
            #expect(logout.status == 204)
            #expect(logout.headers["set-cookie"].contains { $0.hasPrefix("ahg_access=;") || $0.hasPrefix("ahg_access=") && $0.contains("Max-Age=0") })
            #expect(try await http.send(.GET, "\(server.baseURL)/auth/me", headers: [cookieHeader]).status == 401)
            // The dead cookie is still in the browser: signing in again must not trip over it.
            let again = try await http.send(
                .POST, "\(server.baseURL)/auth/login", headers: [("Content-Type", "application/json"), cookieHeader],
                body: try json(["email": "browser@example.com", "password": "password1", "use_cookies": true])
            )
            #expect(again.status == 200)
            try await server.stop()
        }
    }

    @Test func accessTokensAreCheckedForSignatureAndShape() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location, extra: Self.open).start()
            let client = try await ManagementClient.register(server, email: "jwt@example.com")
            let parts = client.accessToken.split(separator: ".")
            let signature = parts[2]
            let tampered = "\(parts[0]).\(parts[1]).\(signature.first == "A" ? "B" : "A")\(signature.dropFirst())"
            for token in [tampered, "not-a-jwt", ""] {
                let reply = try await http.send(.GET, "\(server.baseURL)/auth/me", headers: [("Authorization", "Bearer \(token)")])
                #expect(reply.status == 401, "token \(token.prefix(12))")
                _ = try reply.problem()
            }
            #expect(try await http.send(.GET, "\(server.baseURL)/auth/me").status == 401)
            try await server.stop()
        }
    }
}

func refresh(_ server: ServerProcess, _ token: String) async throws -> HTTPTestClient.Reply {
    try await http.send(.POST, "\(server.baseURL)/auth/refresh", headers: [("Content-Type", "application/json")], body: try json(["refresh_token": token]))
}
