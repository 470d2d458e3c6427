import Foundation
import Testing
import TestSupport

/// The official Python SDKs (openai, anthropic, google-genai) against the gateway, over every provider kind.
/// Runs where the SDKs are installed (the test command installs them from PyPI); `AIHIGRESS_TEST_REQUIRE_SDKS=1`
/// makes their absence a failure.
@Suite struct OfficialSDKTests {
    static var sdksAvailable: Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import openai, anthropic; from google import genai"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    @Test func officialSDKsTalkToEveryProviderKind() async throws {
        guard Self.sdksAvailable else {
            if ProcessInfo.processInfo.environment["AIHIGRESS_TEST_REQUIRE_SDKS"] == "1" { Issue.record("Python SDKs are not installed") }
            return
        }
        try await GatewayHarness.withRunning { h in
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("SDK/sdk_clients.py").path
            let outcome = try await CLI.run(
                ["python3", script, h.base, h.key], environment: [:], executable: URL(fileURLWithPath: "/usr/bin/env"), timeout: .seconds(120)
            )
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let results = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
            var checked = 0
            for (name, value) in results.sorted(by: { $0.key < $1.key }) {
                checked += 1
                guard let text = value as? String else {
                    Issue.record("\(name): \(value)")
                    continue
                }
                if name.hasPrefix("openai.tools.") {
                    #expect(text == "get_weather Paris", "\(name): \(text)")
                } else {
                    #expect(text == "Echo: Say hi", "\(name): \(text)")
                }
            }
            #expect(checked == 3 * 5 + 3 * 2 + 3 * 2)
        }
    }
}
