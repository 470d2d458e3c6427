import AppServer
import ArgumentParser
import Core
import Foundation
import Gateway
import Logging

/// Reads the configuration or stops with every problem listed (exit code 2).
func loadConfiguration(forServer: Bool) throws -> AppConfig {
    try loadConfigurations(forServer: forServer).0
}

/// The server's configuration and its gateway settings; problems of both are reported together.
func loadConfigurations(forServer: Bool) throws -> (AppConfig, GatewayEnvironment) {
    let env = AppConfig.mergedProcessEnvironment()
    var problems: [String] = []
    var config: AppConfig?
    var gateway: GatewayEnvironment?
    do { config = try AppConfig.load(from: env) } catch { problems += error.problems }
    if forServer {
        do { gateway = try GatewayEnvironment.load(from: env) } catch { problems += error.problems }
    }
    guard problems.isEmpty, let config else {
        FileHandle.standardError.write(Data("aihigress: \(ConfigError(problems: problems).description)\n".utf8))
        throw ExitCode(2)
    }
    LogSetup.bootstrap(level: forServer ? config.logLevel : max(config.logLevel, .warning), format: config.logFormat, toStandardError: !forServer)
    return (config, gateway ?? GatewayEnvironment(providers: [], browserHeaders: [:]))
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
