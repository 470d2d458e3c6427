import Foundation
import NIOHTTP1
import Testing
import TestSupport

@Suite struct ServeTests {
    @Test func healthReadinessAndRequestIdsOnEveryResponse() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location).start()
            let health = try await http.send(.GET, "\(server.baseURL)/healthz")
            #expect(health.status == 200)
            #expect(try health.json()["status"] as? String == "ok")
            let ready = try await http.send(.GET, "\(server.baseURL)/readyz")
            #expect(ready.status == 200)
            #expect(try ready.json()["status"] as? String == "ready")
            let missing = try await http.send(.GET, "\(server.baseURL)/no/such/page")
            #expect(missing.status == 404)
            #expect(missing.headers.first(name: "content-type") == "application/problem+json")
            let problem = try missing.json()
            #expect(problem["status"] as? Int == 404)
            #expect(problem["instance"] as? String == "/no/such/page")
            var ids = Set<String>()
            for reply in [health, ready, missing] {
                let id = try #require(reply.headers.first(name: "x-request-id"))
                ids.insert(id)
            }
            #expect(ids.count == 3)
            let echoed = try await http.send(.GET, "\(server.baseURL)/healthz", headers: [("X-Request-Id", "trace-abc_123")])
            #expect(echoed.headers.first(name: "x-request-id") == "trace-abc_123")
            let unsafe = try await http.send(.GET, "\(server.baseURL)/healthz", headers: [("X-Request-Id", "bad id <script>")])
            #expect(unsafe.headers.first(name: "x-request-id") != "bad id <script>")
            #expect(try await server.stop() == 0)
            let access = server.logLines.filter { $0.contains("\"msg\":\"access\"") }
            #expect(access.count >= 5, "one structured access line per request")
            #expect(access.contains { $0.contains("\"path\":\"/no/such/page\"") && $0.contains("\"status\":\"404\"") })
        }
    }

    /// The gateway's exact POST paths are answered without the router (the direct lane), a target with a query by
    /// the router: both take the edge's steps — request id kept or made, errors in the path's shape, one access line.
    @Test func directGatewayRoutesTakeTheEdgeStepsLikeRoutedOnes() async throws {
        try await TestDatabase.withFresh { location in
            let server = try await Deployment(database: location).start()
            let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
            for target in ["/v1/chat/completions", "/v1/chat/completions?trace=1"] {
                let refused = try await http.send(
                    .POST, server.baseURL + target, headers: [("X-Request-Id", "lane-check_1"), ("Content-Type", "application/json")], body: body
                )
                #expect(refused.status == 401, "\(target)")
                #expect(refused.headers.first(name: "x-request-id") == "lane-check_1", "\(target)")
                #expect(try refused.openAIError()["type"] as? String == "authentication_error", "\(target)")
                let made = try await http.send(.POST, server.baseURL + target, headers: [("X-Request-Id", "bad id <script>")], body: body)
                let id = try #require(made.headers.first(name: "x-request-id"))
                #expect(id != "bad id <script>" && !id.isEmpty)
            }
            let anthropic = try await http.send(.POST, "\(server.baseURL)/v1/messages", headers: [("X-Request-Id", "lane-check_2")], body: "{}")
            #expect(anthropic.status == 401)
            let error = try #require(try anthropic.json()["error"] as? [String: Any])
            #expect(error["type"] as? String == "authentication_error")
            #expect(try anthropic.json()["request_id"] as? String == "lane-check_2")
            #expect(try await server.stop() == 0)
            let access = server.logLines.filter { $0.contains("\"msg\":\"access\"") && $0.contains("\"status\":\"401\"") }
            #expect(access.contains { $0.contains("\"path\":\"/v1/chat/completions\"") && $0.contains("\"request_id\":\"lane-check_1\"") })
            #expect(access.contains { $0.contains("\"path\":\"/v1/messages\"") && $0.contains("\"method\":\"POST\"") })
            #expect(access.count == 5, "one access line per request, either way in")
        }
    }

    @Test func readinessReportsAnUnreachableDatabase() async throws {
        // SQLite cannot become unreachable while open, so this runs where PostgreSQL is available.
        guard let pg = try TestEnvironment.postgresOrSkip() else { return }
        try await TestDatabase.withFreshPostgres(pg) { location in
            let server = try await Deployment(database: location).start()
            #expect(try await http.send(.GET, "\(server.baseURL)/readyz").status == 200)
            try await TestDatabase.terminateConnections(to: location, server: pg, block: true)
            let reply = try await http.send(.GET, "\(server.baseURL)/readyz")
            #expect(reply.status == 503)
            let reasons = try #require(try reply.json()["reasons"] as? [String: Any])
            #expect(reasons["database"] as? String == "unreachable")
            #expect(reply.body.contains("password") == false)
            try await server.stop()
        }
    }

    @Test func invalidConfigurationStopsWithEveryProblemNamed() async throws {
        let outcome = try await CLI.run(["serve"], environment: [
            "AIHIGRESS_PORT": "http", "LOG_FORMAT": "yaml", "DATABASE_URL": "oracle://x", "AIHIGRESS_ENV_FILE": "/nonexistent",
        ])
        #expect(outcome.status == 2)
        for name in ["AIHIGRESS_PORT", "LOG_FORMAT", "DATABASE_URL"] {
            #expect(outcome.stderr.contains(name), "\(name) not named in: \(outcome.stderr)")
        }
    }

    @Test func unreachableDatabaseAtStartExitsWithAClearMessage() async throws {
        let dir = try TestEnvironment.temporaryDirectory()
        let started = ContinuousClock.now
        let outcome = try await CLI.run(["serve"], environment: [
            "DATABASE_URL": "postgres://u:secretpw@127.0.0.1:9/db", "AIHIGRESS_DB_CONNECT_TIMEOUT": "2",
            "AIHIGRESS_DATA_DIR": dir.path, "AIHIGRESS_ENV_FILE": "/nonexistent", "AIHIGRESS_PORT": "0",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("unreachable"))
        #expect(outcome.stderr.contains("secretpw") == false)
        #expect(started.duration(to: .now) < .seconds(20))
    }

    /// SIGTERM lets a request already in flight finish, then the process exits 0.
    @Test func sigtermDrainsInFlightRequests() async throws {
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location)
            let (_, key) = try await deployment.organisationWithKey()
            let server = try await deployment.start()
            let slow = try SlowUpload(port: server.port, path: "/v1/chat/completions", key: key, body: #"{"model":"drain-test"}"#)
            try await slow.sendHeadersAndHalf()
            try await Task.sleep(for: .milliseconds(200))
            kill(server.process.processIdentifier, SIGTERM)
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.process.isRunning, "the server waits for the in-flight request")
            let response = try await slow.finish()
            #expect(response.hasPrefix("HTTP/1.1 404"), "the in-flight request got its real answer: \(response.prefix(80))")
            #expect(response.contains("model_not_found"))
            #expect(try await server.waitForExit(timeout: .seconds(15)) == 0)
        }
    }
}
