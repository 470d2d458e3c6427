import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers

/// An in-process fake's HTTP server: a Hummingbird application on 127.0.0.1 with a free port. A fake creates
/// one before its router (whose handlers capture the fake), starts it with the router, and stops it when done.
final class LoopbackServer: Sendable {
    private let running = NIOLockedValueBox<(port: Int, task: Task<Void, any Error>?)>((0, nil))

    var port: Int { running.withLockedValue { $0.port } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    func start(_ router: Router<BasicRequestContext>, name: String) async throws {
        let (port, task) = try await Self.run(router, name: name)
        running.withLockedValue { $0 = (port, task) }
    }

    func stop() async {
        let task = running.withLockedValue { $0.task }
        task?.cancel()
        _ = try? await task?.value
    }

    /// The bound port and the task running the server (cancel it to stop).
    private static func run(_ router: Router<BasicRequestContext>, name: String) async throws -> (port: Int, task: Task<Void, any Error>) {
        let ready = AsyncStream<Int>.makeStream()
        var logger = Logger(label: name)
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ready.stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestSetupError("\(name) did not start") }
        return (port, task)
    }

    /// An `application/x-www-form-urlencoded` body as a dictionary (the last value of a repeated name wins).
    static func form(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            out[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return out
    }
}
