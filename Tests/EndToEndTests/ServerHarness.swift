import Core
import Foundation
import TestSupport

/// A running server on a fresh database with an organisation and a key, for end-to-end tests.
struct Deployment {
    let database: DatabaseLocation
    let dataDirectory: URL
    var environment: [String: String]

    init(database: DatabaseLocation, extra: [String: String] = [:]) throws {
        self.database = database
        self.dataDirectory = try TestEnvironment.temporaryDirectory()
        self.environment = ServerProcess.baseEnvironment(database: database, dataDirectory: dataDirectory).merging(extra) { $1 }
    }

    func cli(_ arguments: [String]) async throws -> CLI.Outcome {
        try await CLI.run(arguments, environment: environment)
    }

    func start() async throws -> ServerProcess {
        try await ServerProcess.start(environment)
    }

    /// Starts a server, runs `body` with it, and stops it whether or not `body` threw.
    func withServer<T>(_ body: (ServerProcess) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let value = try await body(server)
            _ = try await server.stop()
            return value
        } catch {
            _ = try? await server.stop()
            throw error
        }
    }

    /// Bootstraps `acme` and creates a key; returns (key id, key).
    func organisationWithKey(_ extraArguments: [String] = []) async throws -> (id: String, key: String) {
        let boot = try await cli(["admin", "bootstrap", "--email", "owner@example.com", "--password", "password1", "--org", "acme"])
        guard boot.status == 0 else { throw TestSetupError("bootstrap failed: \(boot.stderr)") }
        let created = try await cli(["keys", "create", "--org", "acme", "--name", "e2e"] + extraArguments)
        guard created.status == 0 else { throw TestSetupError("keys create failed: \(created.stderr)") }
        let json = try created.json()
        return (json["id"] as! String, json["key"] as! String)
    }
}

let http = HTTPTestClient.shared
