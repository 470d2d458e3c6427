import Foundation
import Testing
import TestSupport

@Suite struct CLITests {
    @Test func bootstrapAndKeyCommandsPrintJSONAndAreIdempotent() async throws {
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location)
            let args = ["admin", "bootstrap", "--email", "root@example.com", "--password", "password1", "--org", "ops", "--org-name", "Ops Team"]
            let first = try await deployment.cli(args)
            let second = try await deployment.cli(args)
            #expect(first.status == 0, "\(first.stderr)")
            let a = try first.json()
            let b = try second.json()
            #expect(a["user_id"] as? String == b["user_id"] as? String)
            #expect(a["org_id"] as? String == b["org_id"] as? String)

            let created = try await deployment.cli(["keys", "create", "--org", "ops", "--name", "ci", "--expires-in", "30d", "--models", "gpt-4o,claude-sonnet"])
            #expect(created.status == 0)
            let key = try #require(try created.json()["key"] as? String)
            #expect(key.hasPrefix("ahg-"))

            let migrate = try await deployment.cli(["migrate"])
            #expect(migrate.status == 0)
            #expect((try migrate.json()["applied"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func operatorMistakesGetOneClearLine() async throws {
        try await TestDatabase.withFresh { location in
            let deployment = try Deployment(database: location)
            let cases: [[String]] = [
                ["keys", "create", "--org", "missing", "--name", "x"],
                ["keys", "revoke", "--id", "does-not-exist"],
                ["admin", "bootstrap", "--email", "bad", "--password", "password1", "--org", "x1"],
                ["keys", "create", "--org", "missing", "--name", "x", "--expires-in", "forever"],
            ]
            for arguments in cases {
                let outcome = try await deployment.cli(arguments)
                #expect(outcome.status == 1, "\(arguments)")
                #expect(outcome.stderr.hasPrefix("aihigress: "), "\(outcome.stderr)")
                #expect(outcome.stdout.isEmpty)
            }
        }
    }
}
