import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Rate limits, concurrency limits and monthly budgets over the real server, per key and per organisation.
@Suite struct QuotaTests {
    func owner(_ server: ServerProcess) async throws -> ManagementClient {
        try await ManagementClient.login(server, email: "owner@example.com", password: "password1")
    }

    /// A new key of `acme` with these limits.
    func key(_ h: GatewayHarness, limits: [String: Any]) async throws -> String {
        let reply = try await owner(h.server).send(.POST, "/orgs/acme/api-keys", body: ["name": "limited", "rate_limits": limits])
        #expect(reply.status == 201, "\(reply.body)")
        return try #require(try reply.json()["key"] as? String)
    }

    func chat(_ base: String, key: String) async throws -> HTTPTestClient.Reply {
        let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
        return try await http.send(.POST, base + path, headers: [("Authorization", "Bearer \(key)")], body: JSONText.render(body))
    }

    /// Fixed one-minute windows: start well inside one so a test never straddles two.
    func awaitFreshWindow() async throws {
        let intoMinute = Int(Date().timeIntervalSince1970) % 60
        if intoMinute > 45 { try await Task.sleep(for: .seconds(61 - intoMinute)) }
    }

    @Test func requestsPerMinuteAreCountedPerKeyWithHeaders() async throws {
        try await GatewayHarness.withRunning { h in
            let limited = try await key(h, limits: ["requests_per_minute": 3])
            try await awaitFreshWindow()
            for remaining in [2, 1, 0] {
                let reply = try await chat(h.base, key: limited)
                #expect(reply.status == 200)
                #expect(reply.headers.first(name: "x-ratelimit-limit-requests") == "3")
                #expect(reply.headers.first(name: "x-ratelimit-remaining-requests") == String(remaining))
                #expect(reply.headers.first(name: "x-ratelimit-reset-requests")?.hasSuffix("s") == true)
            }
            let refused = try await chat(h.base, key: limited)
            #expect(refused.status == 429)
            #expect(Int(refused.headers.first(name: "retry-after") ?? "") != nil)
            let error = try refused.openAIError()
            #expect(error["type"] as? String == "rate_limit_error")
            #expect(error["code"] as? String == "rate_limit_exceeded")
            // Another key of the organisation is not affected; without limits it gets no rate-limit headers.
            let free = try await chat(h.base, key: h.key)
            #expect(free.status == 200)
            #expect(free.headers.first(name: "x-ratelimit-limit-requests") == nil)
        }
    }

    @Test func concurrentRequestsAreCappedAndSlotsComeBack() async throws {
        try await GatewayHarness.withRunning { h in
            let limited = try await key(h, limits: ["concurrent_requests": 2])
            // Long enough that all five overlap even on a slow, loaded machine.
            h.openai.setBehavior(.delayHead(.seconds(2)))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 { group.addTask { try await chat(h.base, key: limited).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.sorted() == [200, 200, 429, 429, 429])
            h.openai.setBehavior(.normal)
            // Slots were released when the requests ended (including the refused ones).
            for _ in 0..<3 { #expect(try await chat(h.base, key: limited).status == 200) }
        }
    }

    @Test func tokensPerMinuteCountWhatWasUsed() async throws {
        try await GatewayHarness.withRunning { h in
            // The fake reports 11 + 7 = 18 tokens per request: the third request finds 36 used of 20.
            let limited = try await key(h, limits: ["tokens_per_minute": 20])
            try await awaitFreshWindow()
            let first = try await chat(h.base, key: limited)
            #expect(first.status == 200)
            #expect(first.headers.first(name: "x-ratelimit-remaining-tokens") == "20")
            let second = try await chat(h.base, key: limited)
            #expect(second.headers.first(name: "x-ratelimit-remaining-tokens") == "2")
            let third = try await chat(h.base, key: limited)
            #expect(third.status == 429)
        }
    }

    @Test func monthlyBudgetsRefuseWhenHardAndNotifyWhenSoft() async throws {
        try await GatewayHarness.withRunning { h in
            // Default fake price: 11 input × 1 + 7 output × 2 = 25 micro-credits per request.
            let hard = try await key(h, limits: ["monthly_budget": "0.00003"])
            #expect(try await chat(h.base, key: hard).status == 200)
            #expect(try await chat(h.base, key: hard).status == 200)
            let refused = try await chat(h.base, key: hard)
            #expect(refused.status == 402)
            #expect(try refused.openAIError()["code"] as? String == "budget_exceeded")

            let soft = try await key(h, limits: ["monthly_budget": "0.00004", "budget_enforcement": "soft"])
            for _ in 0..<3 { #expect(try await chat(h.base, key: soft).status == 200) }
            let kinds = (try await owner(h.server).get("/auth/notifications").json()["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["kind"] as? String }
            #expect(kinds.filter { $0 == "billing.budget_80" }.count >= 2, "hard and soft keys both passed 80 %: \(kinds)")
            #expect(kinds.contains("billing.budget_100"))
        }
    }

    /// Organisation limits apply to every key; with PostgreSQL + Redis, two instances share one counter.
    @Test func organisationLimitsHoldAcrossInstances() async throws {
        try await GatewayHarness.withRunning { h in
            let admin = try await owner(h.server)
            let bad = try await admin.send(.PUT, "/orgs/acme/billing/limits", body: ["requests_per_minute": -1])
            #expect(bad.status == 400)
            let set = try await admin.send(.PUT, "/orgs/acme/billing/limits", body: ["requests_per_minute": 4])
            #expect(set.status == 200)
            #expect(try await admin.get("/orgs/acme/billing/limits").json()["requests_per_minute"] as? Int == 4)
            let shared = TestEnvironment.redisURL != nil && TestEnvironment.postgresURL != nil
            let second = shared ? try await h.deployment.start() : h.server
            try await awaitFreshWindow()
            var statuses: [Int] = []
            for index in 0..<6 {
                let base = index % 2 == 0 ? h.base : second.baseURL
                statuses.append(try await chat(base, key: h.key).status)
            }
            #expect(statuses == [200, 200, 200, 200, 429, 429])
            if shared { _ = try await second.stop() }
            // Removing the limits lifts them at once on this instance.
            #expect(try await admin.send(.PUT, "/orgs/acme/billing/limits", body: [:]).status == 200)
            #expect(try await chat(h.base, key: h.key).status == 200)
        }
    }
}
