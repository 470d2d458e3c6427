import Foundation
import Hummingbird
import Logging

/// Starts the in-process fakes' HTTP servers: a Hummingbird application on 127.0.0.1 with a free port.
enum LoopbackServer {
    /// The bound port and the task running the server (cancel it to stop).
    static func start(_ router: Router<BasicRequestContext>, name: String) async throws -> (port: Int, task: Task<Void, any Error>) {
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
