import Core
import Foundation
import NIOConcurrencyHelpers

/// The real `aihigress` binary, started as a child process on a free loopback port.
public final class ServerProcess: @unchecked Sendable {
    public let process: Process
    public let port: Int
    private let output: OutputCollector

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var logLines: [String] { output.lines }

    public static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["AIHIGRESS_TEST_BINARY"] { return URL(fileURLWithPath: override) }
        return TestEnvironment.packageRoot.appendingPathComponent(".build/debug/aihigress")
    }

    private init(process: Process, port: Int, output: OutputCollector) {
        self.process = process
        self.port = port
        self.output = output
    }

    /// Starts `aihigress serve` with `environment` over the test defaults and waits until it listens.
    public static func start(_ environment: [String: String], timeout: Duration = .seconds(60)) async throws -> ServerProcess {
        let (process, output) = try launch(["serve"], environment: ["AIHIGRESS_PORT": "0", "LOG_FORMAT": "json"].merging(environment) { $1 })
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            for line in output.lines {
                guard line.contains("\"msg\":\"listening\""), let data = line.data(using: .utf8),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let portText = object["port"] as? String, let port = Int(portText)
                else { continue }
                return ServerProcess(process: process, port: port, output: output)
            }
            if !process.isRunning {
                throw TestSetupError("server exited with \(process.terminationStatus) before listening:\n\(output.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw TestSetupError("server did not start listening within \(timeout):\n\(output.text)")
    }

    /// Sends a signal and waits for the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(30)) async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return try await waitForExit(timeout: timeout)
    }

    public func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill(process.processIdentifier, SIGKILL)
                throw TestSetupError("server did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Common settings for a test server: the test secret, a private data directory, cheap bcrypt, no dotenv file.
    public static func baseEnvironment(database: DatabaseLocation, dataDirectory: URL) -> [String: String] {
        var env = [
            "DATABASE_URL": database.url,
            "AIHIGRESS_SECRET_KEY": TestEnvironment.secret,
            "AIHIGRESS_DATA_DIR": dataDirectory.path,
            "AIHIGRESS_BCRYPT_COST": "4",
            "AIHIGRESS_ENV_FILE": "/nonexistent/.env",
            "LOG_LEVEL": "info",
        ]
        if let redis = TestEnvironment.redisURL { env["REDIS_URL"] = redis }
        return env
    }

    static func launch(
        _ arguments: [String], environment: [String: String], executable: URL = binary
    ) throws -> (Process, OutputCollector) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for name in ["DATABASE_URL", "REDIS_URL", "AIHIGRESS_ENV", "AIHIGRESS_PORT", "AIHIGRESS_SECRET_KEY"] { env[name] = nil }
        process.environment = env.merging(environment) { $1 }
        let collector = OutputCollector()
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { collector.append($0.availableData, stream: .out) }
        err.fileHandleForReading.readabilityHandler = { collector.append($0.availableData, stream: .err) }
        try process.run()
        return (process, collector)
    }
}

/// Gathers a child's output as it arrives.
final class OutputCollector: Sendable {
    enum Stream { case out, err }
    private let state = NIOLockedValueBox((out: Data(), err: Data()))

    func append(_ data: Data, stream: Stream) {
        state.withLockedValue { state in
            switch stream {
            case .out: state.out.append(data)
            case .err: state.err.append(data)
            }
        }
    }

    var stdout: String { state.withLockedValue { String(decoding: $0.out, as: UTF8.self) } }
    var stderr: String { state.withLockedValue { String(decoding: $0.err, as: UTF8.self) } }
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    var text: String { stdout + stderr }
}

/// Runs one CLI command to completion.
public enum CLI {
    public struct Outcome: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        /// stdout parsed as a JSON object.
        public func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw TestSetupError("stdout is not a JSON object: \(stdout)")
            }
            return object
        }
    }

    /// Runs `aihigress` (or another `executable`). Output is gathered by pipe handlers off the concurrency pool,
    /// so a child that talks to servers in this test process cannot starve them.
    public static func run(
        _ arguments: [String], environment: [String: String], executable: URL = ServerProcess.binary, timeout: Duration = .seconds(60)
    ) async throws -> Outcome {
        let (process, output) = try ServerProcess.launch(arguments, environment: environment, executable: executable)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                process.terminate()
                throw TestSetupError("\(arguments) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Let the readability handlers drain what the child wrote last.
        try await Task.sleep(for: .milliseconds(50))
        return Outcome(status: process.terminationStatus, stdout: output.stdout, stderr: output.stderr)
    }
}
