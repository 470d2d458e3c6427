import AppServer
import ArgumentParser
import Core
import Foundation
import Logging

/// Reads the configuration or stops with every problem listed (exit code 2).
func loadConfiguration(forServer: Bool) throws -> AppConfig {
    do {
        let config = try AppConfig.fromProcessEnvironment()
        LogSetup.bootstrap(level: forServer ? config.logLevel : max(config.logLevel, .warning), format: config.logFormat, toStandardError: !forServer)
        return config
    } catch {
        FileHandle.standardError.write(Data("aihigress: \(error.description)\n".utf8))
        throw ExitCode(2)
    }
}

/// Runs an operator command with an open runtime; failures print one clear line and exit 1.
func withRuntime(_ config: AppConfig, migrate: Bool, _ body: @escaping @Sendable (Runtime) async throws -> Void) async throws {
    try await reportingFailures {
        let runtime = try await Runtime.open(config, logger: Logger(label: "aihigress.cli"), migrate: migrate)
        do {
            try await body(runtime)
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}

func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as APIError {
        FileHandle.standardError.write(Data("aihigress: \(error.message)\n".utf8))
        throw ExitCode(1)
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("aihigress: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

func printJSON(_ fields: [String: JSONValue]) {
    print(JSONText.object(fields))
}
