import Core
import Foundation
import Logging

/// What the test command provided: PostgreSQL and Redis when the "external" pass runs, nothing in the embedded pass.
public enum TestEnvironment {
    public static var postgresURL: String? { nonEmpty("AIHIGRESS_TEST_POSTGRES_URL") }
    public static var redisURL: String? { nonEmpty("AIHIGRESS_TEST_REDIS_URL") }
    /// Set by the test command's external pass: a missing server is then a failure, not a skip.
    public static var requireExternal: Bool { nonEmpty("AIHIGRESS_TEST_REQUIRE_EXTERNAL") == "1" }
    public static let secret = "test-secret-0123456789abcdef0123456789abcdef"
    public static let logger: Logger = {
        var logger = Logger(label: "tests")
        logger.logLevel = .error
        return logger
    }()

    private static func nonEmpty(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The PostgreSQL server for tests that need one, or nil (after checking the pass does not require it).
    public static func postgresOrSkip() throws -> DatabaseLocation.PostgresSettings? {
        guard let url = postgresURL else {
            if requireExternal { throw TestSetupError("AIHIGRESS_TEST_POSTGRES_URL is required in this pass") }
            return nil
        }
        guard case .postgres(let settings) = try DatabaseLocation.parse(url) else { throw TestSetupError("not a postgres URL") }
        return settings
    }

    public static func redisOrSkip() throws -> RedisLocation? {
        guard let url = redisURL else {
            if requireExternal { throw TestSetupError("AIHIGRESS_TEST_REDIS_URL is required in this pass") }
            return nil
        }
        return try RedisLocation.parse(url)
    }

    public static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aihigress-test-\(RandomToken.hex(byteCount: 6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The repository root, found from this file's location.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
