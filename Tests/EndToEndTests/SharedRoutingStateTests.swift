import Core
import Foundation
import Testing
import TestSupport

/// Two server instances on one PostgreSQL + Redis make one gateway: a provider tripped on one is cooling down on
/// the other, a session pinned on one stays pinned on the other, QPS budgets are shared, and live metrics
/// recorded by one steer the other. Runs in the PostgreSQL + Redis pass (the embedded pass has no shared store).
@Suite struct SharedRoutingStateTests {
    func chat(_ base: String, _ key: String, model: String = "gpt-fake", session: String? = nil) async throws -> HTTPTestClient.Reply {
        let (path, body) = Ingress.chat.request(model: model, prompt: "hi", stream: false)
        var headers = [("Authorization", "Bearer \(key)")]
        if let session { headers.append(("X-Session-Id", session)) }
        return try await http.send(.POST, base + path, headers: headers, body: JSONText.render(body))
    }

    @Test func breakerStickinessQPSAndMetricsAreSharedByTwoInstances() async throws {
        guard TestEnvironment.redisURL != nil, TestEnvironment.postgresURL != nil else { return }
        try await withTwoProviders(cooldownSeconds: 120, extra: ["LLM_PROVIDER_p2_MAX_QPS": "3"]) { deployment, a, key, first, second in
            let b = try await deployment.start()
            defer { Task { _ = try? await b.stop() } }

            // QPS: p2 allows 3 per second across both instances. A burst counts only when it started and ended in one
            // UTC second (client and servers share the clock), so every admission fell in that second.
            var accepted = 0
            var measured = false
            for _ in 0..<5 where !measured {
                try await atTheStartOfASecond()
                let startSecond = EpochMillis.now() / 1000
                let replies = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<6 {
                        group.addTask { try await chat(index % 2 == 0 ? a.baseURL : b.baseURL, key, model: "p2/gpt-fake").status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                accepted += replies.filter { $0 == 200 }.count
                #expect(replies.allSatisfy { $0 == 200 || $0 == 503 }, "\(replies)")
                guard EpochMillis.now() / 1000 == startSecond else { continue }
                measured = true
                #expect(replies.filter { $0 == 200 }.count == 3, "one budget of 3 for both instances: \(replies)")
            }
            #expect(measured, "no burst fitted in one second")
            #expect(second.completions.count == accepted)

            // Live metrics: B's dry run counts the requests both instances sent to p2.
            var seen = 0
            let deadline = ContinuousClock.now.advanced(by: .seconds(15))
            while seen < accepted && ContinuousClock.now < deadline {
                let decided = try await http.send(
                    .POST, b.baseURL + "/routing/decide", headers: [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")],
                    body: #"{"model":"p2/gpt-fake"}"#
                )
                let candidate = (try decided.json()["candidates"] as? [[String: Any]])?.first
                seen = (candidate?["metrics"] as? [String: Any])?["requests"] as? Int ?? 0
                if seen < accepted { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(seen == accepted, "B counts \(seen) of the \(accepted) requests A and B sent")

            // Stickiness: a session pinned through A stays on its upstream through B.
            try await atTheStartOfASecond()
            let counts = { (first.completions.count, second.completions.count) }
            let start = counts()
            #expect(try await chat(a.baseURL, key, session: "shared-1").status == 200)
            let pinned = counts().0 > start.0 ? first : second
            let pinnedBefore = pinned.completions.count
            for _ in 0..<2 { #expect(try await chat(b.baseURL, key, session: "shared-1").status == 200) }
            #expect(pinned.completions.count == pinnedBefore + 2)

            // Breaker: two failures through A open p1 for B too, without B sending anything to it.
            first.setBehavior(.fail(status: 500))
            for _ in 0..<2 { #expect(try await chat(a.baseURL, key, model: "p1/gpt-fake").status == 502) }
            let sent = first.completions.count
            // B re-reads a circuit it has seen at most every 250 ms (healthy traffic costs no round trip): past that, it knows.
            try await Task.sleep(for: .milliseconds(400))
            let cooling = try await chat(b.baseURL, key, model: "p1/gpt-fake")
            #expect(cooling.status == 503)
            #expect(try cooling.openAIError()["code"] as? String == "providers_cooling_down")
            #expect(first.completions.count == sent)
        }
    }
}
