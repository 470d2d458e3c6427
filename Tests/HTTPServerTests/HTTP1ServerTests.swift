import HTTPServer
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// The gateway's HTTP/1.1 connection handling (`HTTP1Server`) against a real socket: ordering, bodies gathered
/// and streamed, streamed responses, disconnects, errors.
@Suite struct HTTP1ServerTests {
    /// Two requests and a third written in one go: three responses, in order, on the one connection.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestServer.run { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send(Self.post("/echo", "a") + Self.post("/echo", "bb") + "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            let text = try await connection.waitFor("three responses") { $0.occurrences(of: "HTTP/1.1 200 OK") == 3 && $0.hasSuffix("PLAIN-OK") }
            let first = try #require(text.range(of: "bytes=1 "))
            let second = try #require(text.range(of: "bytes=2 "))
            let third = try #require(text.range(of: "PLAIN-OK"))
            #expect(first.lowerBound < second.lowerBound && second.lowerBound < third.lowerBound)
            #expect(text.lowercased().contains("\r\ndate: "))
            await connection.close()
        }
    }

    /// Bodies over the gather limit reach the route as a stream, whole and in order, with a declared length and
    /// chunked; the connection then serves the next request.
    @Test func largeBodiesReachTheRouteWhole() async throws {
        try await TestServer.run(gatherLimit: 1024) { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            let body = String((0..<200_000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            try await connection.send(Self.post("/echo", body))
            try await connection.waitFor("the echo of the long body") { $0.contains("bytes=200000 sum=\(Self.checksum(body))") }

            let chunks = (0..<50).map { i in String(repeating: Character(UnicodeScalar(UInt8(65 + i % 26))), count: 2_000) }
            var chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            for chunk in chunks { chunked += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
            chunked += "0\r\n\r\n"
            try await connection.send(chunked)
            try await connection.waitFor("the echo of the chunked body") { $0.contains("bytes=100000 sum=\(Self.checksum(chunks.joined()))") }

            try await connection.send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            try await connection.waitFor("the next response") { $0.hasSuffix("PLAIN-OK") }
            await connection.close()
        }
    }

    /// A route that answers without reading the body (gathered or streamed): the rest of the body is dropped and
    /// the connection stays usable.
    @Test func answeringBeforeTheBodyKeepsTheConnection() async throws {
        try await TestServer.run(gatherLimit: 1024) { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            let large = String(repeating: "x", count: 300_000)
            try await connection.send(Self.post("/refuse", large) + Self.post("/refuse", "small"))
            try await connection.waitFor("two refusals") { $0.occurrences(of: "HTTP/1.1 413") == 2 }
            try await connection.send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            try await connection.waitFor("the next response") { $0.hasSuffix("PLAIN-OK") }
            #expect(!connection.closedByServer)
            await connection.close()
        }
    }

    /// A body of unknown length goes out chunked, each part as the route writes it.
    @Test func streamedPartsArriveBeforeTheEnd() async throws {
        try await TestServer.run { port, routes in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            let early = try await connection.waitFor("the first part") { $0.contains("first part") }
            #expect(early.lowercased().contains("transfer-encoding: chunked"))
            #expect(!early.contains("second part"))
            routes.releaseStream()
            try await connection.waitFor("the rest and the last chunk") { $0.contains("second part") && $0.hasSuffix("0\r\n\r\n") }
            await connection.close()
        }
    }

    /// A client that goes away mid-response cancels the request's task.
    @Test func aDisconnectCancelsTheRequest() async throws {
        try await TestServer.run { port, routes in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
            try await connection.waitFor("the response to start") { $0.contains("started") }
            #expect(!routes.hangCancelled)
            await connection.close()
            for _ in 0..<1_000 where !routes.hangCancelled { try await Task.sleep(for: .milliseconds(10)) }
            #expect(routes.hangCancelled)
        }
    }

    /// Graceful shutdown closes an idle connection at once and lets a response in progress finish first.
    @Test func shutdownClosesIdleConnectionsAndFinishesTheResponseInProgress() async throws {
        try await TestServer.run { port, routes in
            let idle = try await RawHTTPConnection.connect(port: port)
            try await idle.send("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            try await idle.waitFor("the idle connection's answer") { $0.hasSuffix("PLAIN-OK") }
            let busy = try await RawHTTPConnection.connect(port: port)
            try await busy.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            try await busy.waitFor("the first part") { $0.contains("first part") }
            await routes.startShutdown()
            try await idle.waitUntilClosed()
            #expect(!busy.closedByServer)
            routes.releaseStream()
            try await busy.waitUntilClosed()
            #expect(busy.text.contains("second part") && busy.text.hasSuffix("0\r\n\r\n"))
        }
    }

    /// An HTTP/1.0 client cannot read chunked encoding: a body of unknown length goes as is and the close ends it;
    /// one that asked for keep-alive keeps its connection when the length is known.
    @Test func http10ClientsGetBodiesTheyCanRead() async throws {
        try await TestServer.run { port, routes in
            let streamed = try await RawHTTPConnection.connect(port: port)
            try await streamed.send("GET /stream HTTP/1.0\r\n\r\n")
            try await streamed.waitFor("the first part") { $0.contains("first part") }
            routes.releaseStream()
            try await streamed.waitUntilClosed()
            let text = streamed.text.lowercased()
            #expect(text.hasPrefix("http/1.1 200 ok"))
            #expect(!text.contains("transfer-encoding") && text.contains("connection: close"))
            #expect(text.hasSuffix("\r\n\r\nfirst part\nsecond part\n"))

            let kept = try await RawHTTPConnection.connect(port: port)
            try await kept.send("GET /plain HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            try await kept.waitFor("the first answer") { $0.hasSuffix("PLAIN-OK") }
            #expect(kept.text.lowercased().contains("connection: keep-alive"))
            try await kept.send("GET /plain HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            try await kept.waitFor("the second answer") { $0.occurrences(of: "PLAIN-OK") == 2 }
            #expect(!kept.closedByServer)
            await kept.close()
        }
    }

    /// A HEAD answer carries the headers a GET would and no body, so the next response on the connection is read
    /// from its own first byte.
    @Test func headAnswersCarryNoBody() async throws {
        try await TestServer.run { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            let text = try await connection.waitFor("both answers") { $0.hasSuffix("PLAIN-OK") }
            #expect(text.occurrences(of: "PLAIN-OK") == 1)
            #expect(text.occurrences(of: "HTTP/1.1 ") == 2)
            await connection.close()
        }
    }

    @Test func connectionCloseClosesAfterTheResponse() async throws {
        try await TestServer.run { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            try await connection.waitUntilClosed()
            #expect(connection.text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(connection.text.hasSuffix("PLAIN-OK"))
        }
    }

    @Test func malformedRequestsGet400AndAClose() async throws {
        try await TestServer.run { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("GET /plain HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
            try await connection.waitUntilClosed()
            #expect(connection.text.hasPrefix("HTTP/1.1 400 Bad Request"))
        }
    }

    /// An error no middleware turned into a response is a bare 500, and the connection carries on.
    @Test func anUnhandledErrorIsA500() async throws {
        try await TestServer.run { port, _ in
            let connection = try await RawHTTPConnection.connect(port: port)
            try await connection.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            let text = try await connection.waitFor("both responses") { $0.hasSuffix("PLAIN-OK") }
            #expect(text.hasPrefix("HTTP/1.1 500 Internal Server Error"))
            #expect(!text.contains("Boom"))
            await connection.close()
        }
    }

    static func post(_ path: String, _ body: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func checksum(_ text: some Sequence<UInt8>) -> UInt64 {
        text.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    static func checksum(_ text: String) -> UInt64 { checksum(text.utf8) }
}

/// The routes the tests talk to, with what they observed.
final class TestRoutes: Sendable {
    private let streamGate = AsyncStream<Void>.makeStream()
    private let cancelled = NIOLockedValueBox(false)

    private let shutdown = NIOLockedValueBox<(@Sendable () async -> Void)?>(nil)

    var hangCancelled: Bool { cancelled.withLockedValue { $0 } }
    func releaseStream() { streamGate.continuation.yield() }
    /// Starts the server's graceful shutdown (set by `TestServer.run`).
    func startShutdown() async { await shutdown.withLockedValue { $0 }?() }
    func onShutdown(_ start: @escaping @Sendable () async -> Void) { shutdown.withLockedValue { $0 = start } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("plain") { _, _ in "PLAIN-OK" }
        router.post("echo") { request, _ in
            var bytes = 0
            var sum: UInt64 = 14_695_981_039_346_656_037
            for try await part in request.body {
                bytes += part.readableBytes
                part.withUnsafeReadableBytes { raw in
                    for byte in raw { sum = (sum ^ UInt64(byte)) &* 1_099_511_628_211 }
                }
            }
            return "bytes=\(bytes) sum=\(sum)"
        }
        router.post("refuse") { _, _ in Response(status: .contentTooLarge) }
        router.get("boom") { _, _ -> String in
            struct Boom: Error {}
            throw Boom()
        }
        let gate = streamGate.stream
        router.get("stream") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "first part\n"))
                var waiting = gate.makeAsyncIterator()
                _ = await waiting.next()
                try await writer.write(ByteBuffer(string: "second part\n"))
                try await writer.finish(nil)
            })
        }
        let cancelled = self.cancelled
        router.get("hang") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "started\n"))
                do {
                    while true { try await Task.sleep(for: .milliseconds(10)) }
                } catch {
                    cancelled.withLockedValue { $0 = true }
                    throw error
                }
            })
        }
        return router
    }
}

enum TestServer {
    /// Starts an `HTTP1Server` on a free loopback port, runs `body`, and shuts the server down gracefully.
    static func run(gatherLimit: Int = HTTP1Server.defaultGatherLimit, _ body: (Int, TestRoutes) async throws -> Void)
        async throws
    {
        var logger = Logger(label: "http1-server-test")
        logger.logLevel = .critical
        let routes = TestRoutes()
        let ready = AsyncStream<Int>.makeStream()
        let server = HTTP1Server(responder: routes.router().buildResponder(), logger: logger, gatherLimit: gatherLimit).server(
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        routes.onShutdown { await group.triggerGracefulShutdown() }
        let running = Task { try await group.run() }
        var ports = ready.stream.makeAsyncIterator()
        let port = await ports.next() ?? 0
        do {
            #expect(port > 0)
            try await body(port, routes)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
