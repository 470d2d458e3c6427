import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Usage reports and grant codes over the real server: reports reconcile exactly with the ledger's charges (JSON
/// and CSV), and a grant code pays out once.
@Suite struct BillingReportTests {
    func admin(_ h: GatewayHarness) async throws -> ManagementClient {
        try await ManagementClient.login(h.server, email: "owner@example.com", password: "password1")
    }

    func int(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    /// Every ledger entry of kind charge, once `count` have been settled.
    func charges(_ client: ManagementClient, expecting count: Int) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while true {
            let entries = try await client.get("/orgs/acme/billing/ledger?kind=charge&limit=200").json()["data"] as? [[String: Any]] ?? []
            if entries.count >= count || ContinuousClock.now > deadline { return entries }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The ledger's charges summed per group, the way the report must see them.
    struct Sums: Equatable {
        var requests: Int64 = 0, input: Int64 = 0, output: Int64 = 0, cached: Int64 = 0, estimated: Int64 = 0, cost: Int64 = 0
    }

    func ledgerSums(_ entries: [[String: Any]], by key: ([String: Any]) -> String) -> [String: Sums] {
        var out: [String: Sums] = [:]
        for entry in entries {
            let usage = entry["usage"] as? [String: Any] ?? [:]
            var sums = out[key(entry), default: Sums()]
            sums.requests += 1
            sums.input += int(usage["input_tokens"]) ?? 0
            sums.output += int(usage["output_tokens"]) ?? 0
            sums.cached += int(usage["cached_input_tokens"]) ?? 0
            sums.estimated += usage["estimated"] as? Bool == true ? 1 : 0
            sums.cost -= int(entry["amount_micros"]) ?? 0
            out[key(entry)] = sums
        }
        return out
    }

    func reportSums(_ row: [String: Any]) -> Sums {
        Sums(
            requests: int(row["requests"]) ?? -1, input: int(row["input_tokens"]) ?? -1, output: int(row["output_tokens"]) ?? -1,
            cached: int(row["cached_input_tokens"]) ?? -1, estimated: int(row["estimated_requests"]) ?? -1, cost: int(row["cost_micros"]) ?? -1
        )
    }

    func utcDay(_ millis: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// Splits RFC 4180 text (the report's cells never hold quotes or line breaks, so a plain split suffices here).
    func csvRows(_ body: String) -> [[String]] {
        body.components(separatedBy: "\r\n").filter { !$0.isEmpty }.map { $0.components(separatedBy: ",") }
    }

    @Test func usageReportsReconcileWithTheLedgerInJSONAndCSV() async throws {
        try await GatewayHarness.withRunning { h in
            let owner = try await admin(h)
            #expect(try await owner.send(.PUT, "/pricing", body: [
                "model": "gpt-fake", "input_per_million": "1000", "cached_input_per_million": "500", "output_per_million": "2000",
            ]).status == 200)
            let created = try await owner.send(.POST, "/orgs/acme/api-keys", body: ["name": "second, \"quoted\""])
            #expect(created.status == 201)
            let secondKey = try #require(try created.json()["key"] as? String)
            let secondKeyId = try #require(try created.json()["id"] as? String)

            // Three chat requests on the first key (one streamed), two on the second, and one Anthropic request on the second.
            func send(_ key: String, _ ingress: Ingress, model: String, stream: Bool) async throws {
                let (path, body) = ingress.request(model: model, prompt: "hello", stream: stream)
                let reply = try await http.send(
                    .POST, h.base + path, headers: [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")], body: JSONText.render(body)
                )
                #expect(reply.status == 200, "\(ingress) \(model): \(reply.body)")
            }
            try await send(h.key, .chat, model: "gpt-fake", stream: false)
            try await send(h.key, .chat, model: "gpt-fake", stream: true)
            try await send(h.key, .chat, model: "gpt-fake", stream: false)
            try await send(secondKey, .chat, model: "gpt-fake", stream: false)
            try await send(secondKey, .chat, model: "gpt-fake", stream: true)
            try await send(secondKey, .messages, model: "claude-fake", stream: false)
            let entries = try await charges(owner, expecting: 6)
            #expect(entries.count == 6)
            let ledgerCost = -entries.compactMap { int($0["amount_micros"]) }.reduce(0, +)
            #expect(ledgerCost > 0)

            func report(_ query: String) async throws -> [String: Any] {
                let reply = try await owner.get("/orgs/acme/billing/usage?" + query)
                #expect(reply.status == 200, "\(query): \(reply.body)")
                #expect(reply.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
                return try reply.json()
            }
            func rows(_ json: [String: Any]) -> [[String: Any]] { json["rows"] as? [[String: Any]] ?? [] }

            // Every grouping: the total is the ledger's, exactly, and equals the sum of its rows.
            let all = ledgerSums(entries) { _ in "all" }["all"]!
            for grouping in ["day", "model", "provider", "key", "user"] {
                let json = try await report("group_by=\(grouping)")
                #expect(json["group_by"] as? String == grouping)
                let total = try #require(json["total"] as? [String: Any])
                #expect(reportSums(total) == all, "\(grouping) total")
                #expect(total["cost"] as? String == Credits(micros: ledgerCost).description)
                var summed = Sums()
                for row in rows(json) {
                    let s = reportSums(row)
                    summed.requests += s.requests; summed.input += s.input; summed.output += s.output
                    summed.cached += s.cached; summed.estimated += s.estimated; summed.cost += s.cost
                    #expect(row["cost"] as? String == Credits(micros: s.cost).description)
                }
                #expect(summed == all, "\(grouping) rows add up to the total")
            }

            // Per model and per key, each group equals the ledger's own grouping.
            let byModel = ledgerSums(entries) { $0["model"] as? String ?? "" }
            let modelRows = rows(try await report("group_by=model"))
            #expect(Set(modelRows.compactMap { $0["group"] as? String }) == Set(byModel.keys))
            #expect(Set(byModel.keys) == ["gpt-fake", "claude-fake"])
            for row in modelRows { #expect(reportSums(row) == byModel[row["group"] as? String ?? ""], "model \(row)") }
            #expect(byModel["gpt-fake"]?.requests == 5)

            let byKey = ledgerSums(entries) { $0["api_key_id"] as? String ?? "" }
            let keyRows = rows(try await report("group_by=key"))
            #expect(keyRows.count == 2)
            for row in keyRows { #expect(reportSums(row) == byKey[row["group"] as? String ?? ""], "key \(row)") }
            let second = try #require(keyRows.first { $0["group"] as? String == secondKeyId })
            #expect(second["key_name"] as? String == "second, \"quoted\"")
            #expect(int(second["requests"]) == 3)

            // Per day: today's UTC date, the same figures.
            let byDay = ledgerSums(entries) { utcDay(self.int($0["created_at"]) ?? 0) }
            let dayJSON = try await report("")
            #expect(dayJSON["group_by"] as? String == "day", "day is the default grouping")
            let from = try #require(int(dayJSON["from"]))
            let to = try #require(int(dayJSON["to"]))
            #expect(to - from == 30 * 86_400_000, "the default range is the last 30 days")
            for row in rows(dayJSON) { #expect(reportSums(row) == byDay[row["group"] as? String ?? ""], "day \(row)") }
            #expect(Set(rows(dayJSON).compactMap { $0["group"] as? String }) == Set(byDay.keys))

            // A range that ends before the requests is empty; `to` is exclusive.
            let earliest = entries.compactMap { int($0["created_at"]) }.min() ?? 0
            let before = try await report("from=\(earliest - 86_400_000)&to=\(earliest)")
            #expect(rows(before).isEmpty)
            #expect(int((before["total"] as? [String: Any])?["cost_micros"]) == 0)
            let from0 = try await report("from=\(earliest)&to=\(earliest + 1)&group_by=model")
            #expect((int((from0["total"] as? [String: Any])?["requests"]) ?? 0) >= 1)

            // CSV: the same numbers, a header row, RFC 4180 quoting, a download name.
            let csvQuery = "from=\(earliest - 1000)&to=\(earliest + 3_600_000)&group_by=key"
            let jsonKeyRows = rows(try await report(csvQuery))
            for (headers, query) in [([(String, String)](), csvQuery + "&format=csv"), ([("Accept", "text/csv")], csvQuery)] {
                let reply = try await owner.send(.GET, "/orgs/acme/billing/usage?" + query, headers: headers)
                #expect(reply.status == 200)
                #expect(reply.headers.first(name: "content-type") == "text/csv; charset=utf-8")
                #expect(reply.headers.first(name: "content-disposition")
                        == "attachment; filename=\"usage-acme-\(earliest - 1000)-\(earliest + 3_600_000).csv\"")
                #expect(reply.body.hasSuffix("\r\n"))
                #expect(reply.body.contains("\"second, \"\"quoted\"\"\""), "names with commas and quotes are quoted: \(reply.body)")
                let lines = reply.body.components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(lines.first == "group,key_name,requests,input_tokens,output_tokens,cached_input_tokens,reasoning_tokens,estimated_requests,cost,cost_micros")
                #expect(lines.count == jsonKeyRows.count + 1)
                for row in jsonKeyRows {
                    let id = row["group"] as? String ?? ""
                    let line = try #require(lines.first { $0.hasPrefix(id + ",") }, "a CSV line for key \(id)")
                    let numbers = line.components(separatedBy: ",").suffix(8)
                    #expect(Array(numbers) == [
                        "\(int(row["requests"]) ?? -1)", "\(int(row["input_tokens"]) ?? -1)", "\(int(row["output_tokens"]) ?? -1)",
                        "\(int(row["cached_input_tokens"]) ?? -1)", "\(int(row["reasoning_tokens"]) ?? -1)",
                        "\(int(row["estimated_requests"]) ?? -1)", row["cost"] as? String ?? "?", "\(int(row["cost_micros"]) ?? -1)",
                    ], "\(line)")
                }
            }
            let modelCSV = try await owner.get("/orgs/acme/billing/usage?group_by=model&format=csv")
            let modelLines = csvRows(modelCSV.body)
            #expect(modelLines.first?.first == "group" && modelLines.first?.count == 9)
            let csvCost = modelLines.dropFirst().compactMap { Int64($0[8]) }.reduce(0, +)
            #expect(csvCost == ledgerCost, "the CSV's costs add up to the ledger's charges")

            // Bad parameters: 400 naming the parameter.
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let bad: [(String, String)] = [
                ("group_by=week", "group_by"), ("from=yesterday", "from"), ("to=-5", "to"), ("format=xml", "format"),
                ("from=\(now)&to=\(now - 1)", "from"), ("from=\(now)&to=\(now)", "from"),
                ("from=\(now - 367 * 86_400_000)&to=\(now)", "to"),
            ]
            for (query, param) in bad {
                let reply = try await owner.get("/orgs/acme/billing/usage?" + query)
                #expect(reply.status == 400, "\(query): \(reply.status) \(reply.body)")
                #expect(try reply.problem()["param"] as? String == param, "\(query): \(reply.body)")
            }
            // Exactly 366 days is allowed.
            #expect(try await owner.get("/orgs/acme/billing/usage?from=\(now - 366 * 86_400_000)&to=\(now)").status == 200)
        }
    }

    @Test func grantCodesAreIssuedBySystemAdminsAndRedeemedOnce() async throws {
        try await GatewayHarness.withRunning(extra: ["AIHIGRESS_OPEN_REGISTRATION": "true"]) { h in
            let owner = try await admin(h)
            func balance() async throws -> Int64 {
                try int(await owner.get("/orgs/acme/billing/balance").json()["balance_micros"]) ?? -1
            }

            let issued = try await owner.send(.POST, "/system/grant-codes", body: ["amount": "12.5", "expires_in": "30d", "note": "conference"])
            #expect(issued.status == 201, "\(issued.body)")
            let code = try #require(try issued.json()["code"] as? String)
            let codeId = try #require(try issued.json()["id"] as? String)
            #expect(code.hasPrefix("ahc-") && code.count == 28)
            #expect(int(try issued.json()["amount_micros"]) == 12_500_000)

            // Listed by prefix and status, never the code.
            let listed = try await owner.get("/system/grant-codes")
            #expect(listed.status == 200)
            #expect(!listed.body.contains(code))
            let entry = try #require((try listed.json()["data"] as? [[String: Any]])?.first { $0["id"] as? String == codeId })
            #expect(entry["status"] as? String == "active")
            #expect(entry["note"] as? String == "conference")
            #expect(code.hasPrefix(entry["code_prefix"] as? String ?? "-"))

            // Redeemed once: the balance rises by the amount; the second attempt is the same 404 as an unknown code.
            let before = try await balance()
            let redeemed = try await owner.send(.POST, "/orgs/acme/billing/redeem", body: ["code": code])
            #expect(redeemed.status == 201, "\(redeemed.body)")
            #expect(try await balance() == before + 12_500_000)
            let again = try await owner.send(.POST, "/orgs/acme/billing/redeem", body: ["code": code])
            let unknown = try await owner.send(.POST, "/orgs/acme/billing/redeem", body: ["code": "ahc-" + String(repeating: "x", count: 24)])
            for reply in [again, unknown] {
                #expect(reply.status == 404)
                #expect(reply.problemType?.hasSuffix("/grant_code_not_found") == true, "\(reply.body)")
            }
            #expect(try again.problem()["detail"] as? String == unknown.problem()["detail"] as? String)
            #expect(try await balance() == before + 12_500_000)
            let grants = try await owner.get("/orgs/acme/billing/ledger?kind=grant&limit=200").json()["data"] as? [[String: Any]] ?? []
            #expect(grants.filter { $0["idempotency_key"] as? String == "grant-code:\(codeId)" }.count == 1)
            let status = try await owner.get("/system/grant-codes").json()["data"] as? [[String: Any]]
            #expect(status?.first { $0["id"] as? String == codeId }?["status"] as? String == "redeemed")
            #expect(status?.first { $0["id"] as? String == codeId }?["redeemed_by_org_slug"] as? String == "acme")

            // A revoked code cannot be redeemed; a redeemed one cannot be revoked.
            let other = try await owner.send(.POST, "/system/grant-codes", body: ["amount": "1", "expires_in": "1h"])
            let otherCode = try #require(try other.json()["code"] as? String)
            let otherId = try #require(try other.json()["id"] as? String)
            #expect(try await owner.send(.DELETE, "/system/grant-codes/\(otherId)").status == 204)
            #expect(try await owner.send(.POST, "/orgs/acme/billing/redeem", body: ["code": otherCode]).status == 404)
            #expect(try await owner.send(.DELETE, "/system/grant-codes/\(codeId)").status == 409)
            #expect(try await owner.send(.DELETE, "/system/grant-codes/no-such-id").status == 404)

            // Bad bodies name the field.
            for (body, param) in [(["amount": "0", "expires_in": "1d"], "amount"), (["amount": "abc", "expires_in": "1d"], "amount"),
                                  (["amount": "1", "expires_in": "soon"], "expires_in"), (["amount": "1"], "expires_in")] {
                let reply = try await owner.send(.POST, "/system/grant-codes", body: body)
                #expect(reply.status == 400, "\(body): \(reply.body)")
                #expect(try reply.problem()["param"] as? String == param, "\(body): \(reply.body)")
            }

            // Someone who is not a system administrator cannot issue or list codes, nor redeem into another organisation.
            let stranger = try await ManagementClient.register(h.server, email: "stranger@example.com")
            let refused = try await stranger.send(.POST, "/system/grant-codes", body: ["amount": "1000", "expires_in": "1d"])
            #expect(refused.status == 403)
            #expect(refused.problemType?.hasSuffix("/system_admin_required") == true)
            #expect(try await stranger.get("/system/grant-codes").status == 403)
            let third = try await owner.send(.POST, "/system/grant-codes", body: ["amount": "1", "expires_in": "1h"])
            let thirdCode = try #require(try third.json()["code"] as? String)
            #expect(try await stranger.send(.POST, "/orgs/acme/billing/redeem", body: ["code": thirdCode]).status == 404)

            // The books balance.
            var entries: [[String: Any]] = []
            var cursor: String?
            repeat {
                let page = try await owner.get("/orgs/acme/billing/ledger?limit=200" + (cursor.map { "&cursor=\($0)" } ?? "")).json()
                entries += page["data"] as? [[String: Any]] ?? []
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            let finalBalance = try await balance()
            #expect(entries.compactMap { int($0["amount_micros"]) }.reduce(0, +) == finalBalance)
        }
    }
}
