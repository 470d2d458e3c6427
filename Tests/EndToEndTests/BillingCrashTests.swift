import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// A server killed with requests in flight: nothing is charged twice and the books still balance. With several
/// instances (Redis, the external pass) its holds are database rows, which expire after the restart and are
/// released with a visible entry; a single instance keeps holds in memory, so they end with the process.
@Suite struct BillingCrashTests {
    @Test func holdsOfAKilledServerExpireAfterRestart() async throws {
        try await GatewayHarness.withRunning(extra: ["AIHIGRESS_HOLD_TTL_SECONDS": "3"]) { h in
            h.openai.setBehavior(.slowStream(interval: .milliseconds(200), frames: 500))
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "long story", stream: true)
            let inFlight = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<3 {
                        group.addTask { _ = try? await http.send(.POST, h.base + path, headers: h.auth, body: JSONText.render(body), timeout: .seconds(20)) }
                    }
                    try await group.waitForAll()
                }
            }
            let owner = try await ManagementClient.login(h.server, email: "owner@example.com", password: "password1")
            // A request holds its credits before it goes upstream: once the fake has seen all three, all three hold.
            let deadline = ContinuousClock.now.advanced(by: .seconds(20))
            while h.openai.completions.count < 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(h.openai.completions.count == 3)
            let held = (try await owner.get("/orgs/acme/billing/balance").json()["held_micros"] as? NSNumber)?.int64Value ?? 0
            #expect(held > 0, "the streams hold credits while in flight")

            #expect(try await h.server.stop(signal: SIGKILL) == SIGKILL)
            _ = try await inFlight.value
            h.openai.setBehavior(.normal)

            let restarted = try await h.deployment.start()
            let admin = try await ManagementClient.login(restarted, email: "owner@example.com", password: "password1")
            let released = ContinuousClock.now.advanced(by: .seconds(15))
            var balance: [String: Any] = [:]
            repeat {
                balance = try await admin.get("/orgs/acme/billing/balance").json()
                if (balance["held_micros"] as? NSNumber)?.int64Value == 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < released
            #expect((balance["held_micros"] as? NSNumber)?.int64Value == 0, "no hold of the killed server outlives the restart")

            let ledger = try await admin.get("/orgs/acme/billing/ledger?limit=200").json()["data"] as? [[String: Any]] ?? []
            let releases = ledger.filter { $0["kind"] as? String == "release" }
            if TestEnvironment.redisURL != nil {
                #expect(releases.count == 3, "each expired database hold leaves a release entry")
                #expect(releases.allSatisfy { $0["reason"] as? String == "hold expired" })
            } else {
                #expect(releases.isEmpty, "holds kept in memory ended with the process and left nothing to release")
            }
            let charges = ledger.filter { $0["kind"] as? String == "charge" }
            #expect(charges.isEmpty, "the killed requests were never settled, so nothing was charged, let alone twice")
            let sum = ledger.compactMap { ($0["amount_micros"] as? NSNumber)?.int64Value }.reduce(0, +)
            #expect((balance["balance_micros"] as? NSNumber)?.int64Value == sum)

            // The restarted server charges a new request exactly once.
            let (plainPath, plain) = Ingress.chat.request(model: "gpt-fake", prompt: "after", stream: false)
            #expect(try await http.send(.POST, restarted.baseURL + plainPath, headers: h.auth, body: JSONText.render(plain)).status == 200)
            let after = try await admin.get("/orgs/acme/billing/ledger?kind=charge").json()["data"] as? [[String: Any]] ?? []
            #expect(after.count == 1)
            _ = try await restarted.stop()
        }
    }
}
