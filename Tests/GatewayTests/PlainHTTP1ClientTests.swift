import NIOCore
import NIOHTTP1
import Testing
@testable import Gateway
import TestSupport

/// The keep-alive client for `http://` upstreams, against a scripted HTTP/1.1 server on loopback.
@Suite struct PlainHTTP1ClientTests {
    let client = PlainHTTP1Client()

    func post(
        _ server: ScriptedHTTPServer, firstByteTimeout: TimeAmount = .seconds(5), readTimeout: TimeAmount = .seconds(5)
    ) async throws -> PlainHTTP1Response {
        let target = try #require(PlainHTTP1Client.Target(url: server.baseURL + "/v1/chat/completions"))
        return try await client.execute(
            target, method: .POST, headers: HTTPHeaders([("content-type", "application/json")]), body: ByteBuffer(string: #"{"model":"m"}"#),
            connectTimeout: .seconds(2), firstByteTimeout: firstByteTimeout, readTimeout: readTimeout
        )
    }

    func text(_ response: PlainHTTP1Response) async throws -> String {
        String(buffer: try await UpstreamResponse(response).body.collect(upTo: 1 << 20))
    }

    @Test func targetsParseHostPortAndPathAndRefuseAnythingElse() throws {
        let plain = try #require(PlainHTTP1Client.Target(url: "http://10.0.0.5:8000/v1beta/models/m:streamGenerateContent?alt=sse"))
        #expect(plain.host == "10.0.0.5" && plain.port == 8000 && plain.path == "/v1beta/models/m:streamGenerateContent?alt=sse")
        #expect(plain.hostHeader == "10.0.0.5:8000")
        let v6 = try #require(PlainHTTP1Client.Target(url: "http://[::1]:9/x"))
        #expect(v6.host == "::1" && v6.port == 9 && v6.path == "/x")
        #expect(PlainHTTP1Client.Target(url: "http://llm.internal")?.port == 80)
        for refused in ["https://api.openai.com/v1", "http://user:pw@host/x", "http://host:0/x", "http://host:99999/", "http://:80/", "ftp://h/"] {
            #expect(PlainHTTP1Client.Target(url: refused) == nil, "\(refused)")
        }
    }

    /// The request head goes out as the exact bytes HTTP/1.1 expects: request line, each header once in order, blank line.
    @Test func requestHeadsAreWrittenAsHTTP11Bytes() {
        let headers = HTTPHeaders([("host", "10.0.0.5:8000"), ("content-length", "13"), ("x-api-key", "sk-1"), ("x-multi", "a"), ("x-multi", "b")])
        let wire = UpstreamRequestWire(method: .POST, path: "/v1beta/models/m:generateContent?alt=sse", headers: headers)
        #expect(wire.method == .POST)
        #expect(
            String(buffer: wire.head)
                == "POST /v1beta/models/m:generateContent?alt=sse HTTP/1.1\r\nhost: 10.0.0.5:8000\r\ncontent-length: 13\r\nx-api-key: sk-1\r\nx-multi: a\r\nx-multi: b\r\n\r\n"
        )
        #expect(String(buffer: UpstreamRequestWire(method: .GET, path: "/v1/models", headers: [:]).head) == "GET /v1/models HTTP/1.1\r\n\r\n")
    }

    @Test func sequentialCallsShareOneKeepAliveConnection() async throws {
        let server = try await ScriptedHTTPServer.start { connection, request in .json(#"{"c":\#(connection),"r":\#(request)}"#) }
        defer { Task { await server.stop() } }
        var answers: [String] = []
        for _ in 0..<3 {
            let response = try await post(server)
            #expect(response.head.status == 200)
            answers.append(try await text(response))
        }
        #expect(answers == [#"{"c":0,"r":0}"#, #"{"c":0,"r":1}"#, #"{"c":0,"r":2}"#])
        #expect(server.connections == 1)
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .json("{}") }
        defer { Task { await server.stop() } }
        let client = PlainHTTP1Client(idleTimeout: .milliseconds(100), sweepInterval: .milliseconds(50))
        let target = try #require(PlainHTTP1Client.Target(url: server.baseURL + "/"))
        let response = try await client.execute(
            target, method: .POST, headers: [:], body: ByteBuffer(), connectTimeout: .seconds(2), firstByteTimeout: .seconds(2), readTimeout: .seconds(2)
        )
        _ = try await UpstreamResponse(response).body.collect(upTo: 1024)
        #expect(server.closedConnections == 0)
        for _ in 0..<50 where server.closedConnections == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.closedConnections == 1)
        await client.shutdown()
    }

    @Test func aPooledConnectionClosedUnderTheCallIsRetriedOnceOnANewOne() async throws {
        // Each connection answers its first request and drops the second: the second call finds the pooled
        // connection closed without an answer, and succeeds on a new one.
        let server = try await ScriptedHTTPServer.start { connection, request in request == 0 ? .json(#"{"c":\#(connection)}"#) : .close }
        defer { Task { await server.stop() } }
        #expect(try await text(try await post(server)) == #"{"c":0}"#)
        #expect(try await text(try await post(server)) == #"{"c":1}"#)
        #expect(server.connections == 2)
    }

    @Test func aNewConnectionClosedWithoutAnAnswerIsNotRetried() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .close }
        defer { Task { await server.stop() } }
        await #expect(throws: PlainHTTP1Error.closedBeforeResponse(reused: false)) { _ = try await post(server) }
        #expect(server.connections == 1)
    }

    @Test func aLateHeadIsAFirstByteTimeout() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .delayedJSON("{}", .seconds(2)) }
        defer { Task { await server.stop() } }
        let started = ContinuousClock.now
        await #expect(throws: PlainHTTP1Error.firstByteTimeout) { _ = try await post(server, firstByteTimeout: .milliseconds(150)) }
        #expect(started.duration(to: .now) < .seconds(1))
    }

    @Test func cancellingTheCallerBeforeTheHeadEndsTheCallAndItsConnection() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .delayedJSON("{}", .seconds(5)) }
        defer { Task { await server.stop() } }
        let call = Task { try await post(server) }
        for _ in 0..<100 where server.connections == 0 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        let cancelled = ContinuousClock.now
        call.cancel()
        await #expect(throws: PlainHTTP1Error.cancelled) { _ = try await call.value }
        #expect(cancelled.duration(to: .now) < .seconds(1))
        for _ in 0..<100 where server.closedConnections == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.closedConnections == 1)
    }

    @Test func aStalledBodyIsAReadTimeout() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .headThenStall }
        defer { Task { await server.stop() } }
        let response = try await post(server, readTimeout: .milliseconds(150))
        #expect(response.head.status == 200)
        await #expect(throws: PlainHTTP1Error.readTimeout) { _ = try await text(response) }
    }

    @Test func aBodyThatKeepsArrivingIsNotTimedOutHoweverLongItLasts() async throws {
        // Six parts 100 ms apart: 600 ms in all, against a 250 ms read timeout that only a silent gap may exceed.
        let server = try await ScriptedHTTPServer.start { _, _ in .trickle(parts: 6, every: .milliseconds(100)) }
        defer { Task { await server.stop() } }
        let response = try await post(server, readTimeout: .milliseconds(250))
        #expect(try await text(response) == "xxxxxx")
    }

    @Test func aReusedConnectionTimesOutOnItsOwnCallsDeadline() async throws {
        // The first call leaves the connection's timer set for its own (5 s) deadline; the second call's much
        // earlier one must still fire on time.
        let server = try await ScriptedHTTPServer.start { _, request in request == 0 ? .json("{}") : .delayedJSON("{}", .seconds(3)) }
        defer { Task { await server.stop() } }
        #expect(try await text(try await post(server)) == "{}")
        let started = ContinuousClock.now
        await #expect(throws: PlainHTTP1Error.firstByteTimeout) { _ = try await post(server, firstByteTimeout: .milliseconds(150)) }
        #expect(started.duration(to: .now) < .seconds(1))
        #expect(server.connections == 1)
    }

    @Test func aGatheredBodyComesWholeAndOneTooLargeOrStalledFails() async throws {
        // The first connection answers whole, then too much; the call after that is on a new connection, which stalls.
        let server = try await ScriptedHTTPServer.start { connection, request in
            switch (connection, request) {
            case (0, 0): .trickle(parts: 5, every: .milliseconds(20))
            case (0, _): .stream(chunks: 64, size: 1024)
            default: .headThenStall
            }
        }
        defer { Task { await server.stop() } }
        let target = try #require(PlainHTTP1Client.Target(url: server.baseURL + "/v1/chat/completions"))
        func call(upTo limit: Int) async throws -> PlainHTTP1Response {
            try await client.execute(
                target, method: .POST, headers: [:], body: ByteBuffer(), connectTimeout: .seconds(2), firstByteTimeout: .seconds(2),
                readTimeout: .milliseconds(300), gatherUpTo: limit
            )
        }
        let whole = try await call(upTo: 1024)
        guard case .whole(let body) = whole.body else {
            Issue.record("the body was not gathered")
            return
        }
        #expect(String(buffer: body) == "xxxxx")
        #expect(try await text(whole) == "xxxxx")
        await #expect(throws: PlainHTTP1Error.responseTooLarge) { _ = try await call(upTo: 10_000) }
        for _ in 0..<100 where server.closedConnections == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.closedConnections == 1, "a body left half-read closes its connection")
        await #expect(throws: PlainHTTP1Error.readTimeout) { _ = try await call(upTo: 1024) }
        #expect(server.connections == 2)
    }

    /// Every framing an upstream may use reaches the caller whole through the client's own parser: chunked with
    /// extensions and trailers (the connection is then reused), a body that ends with the connection, and 1xx
    /// interim answers before the real one; a malformed answer fails the call and its connection.
    @Test func responsesFramedEveryWayReachTheCaller() async throws {
        let server = try await RawResponseServer.start { request in
            switch request {
            case 0: .init(bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n", thenClose: false)
            case 1: .init(bytes: "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nfg", thenClose: false)
            case 2: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: until close\n\n", thenClose: true)
            default: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", thenClose: false)
            }
        }
        defer { Task { await server.stop() } }
        let target = try #require(PlainHTTP1Client.Target(url: "http://127.0.0.1:\(server.port)/v1/chat/completions"))
        func call(gathered: Bool) async throws -> String {
            let response = try await client.execute(
                target, method: .POST, headers: [:], body: ByteBuffer(string: "{}"), connectTimeout: .seconds(2), firstByteTimeout: .seconds(2),
                readTimeout: .seconds(2), gatherUpTo: gathered ? 1024 : nil
            )
            return try await text(response)
        }
        #expect(try await call(gathered: false) == "abcde")
        #expect(try await call(gathered: true) == "fg")
        #expect(server.connections == 1, "both answers were delimited: one keep-alive connection")
        #expect(try await call(gathered: false) == "data: until close\n\n")
        await #expect(throws: PlainHTTP1Error.self) { _ = try await call(gathered: true) }
        #expect(server.connections == 2, "the answer read until the close was not followed on its connection")
    }

    @Test func headersThatWouldSplitTheRequestAreRefusedBeforeAnythingIsSent() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .json("{}") }
        defer { Task { await server.stop() } }
        let target = try #require(PlainHTTP1Client.Target(url: server.baseURL + "/v1/chat/completions"))
        for headers in [HTTPHeaders([("authorization", "Bearer k\r\nx-injected: 1")]), HTTPHeaders([("bad name", "v")]), HTTPHeaders([("x", "a\u{0}b")])] {
            await #expect(throws: PlainHTTP1Error.invalidRequestHeader) {
                _ = try await client.execute(
                    target, method: .POST, headers: headers, body: ByteBuffer(), connectTimeout: .seconds(2), firstByteTimeout: .seconds(2),
                    readTimeout: .seconds(2)
                )
            }
        }
        #expect(server.connections == 0)
        #expect(PlainHTTP1Client.areValid(HTTPHeaders([("x-api-key", "sk-abc\tdef"), ("anthropic-version", "2023-06-01")])))
    }

    @Test func aSlowReaderHoldsTheUpstreamBackAndLeavingEarlyClosesTheConnection() async throws {
        let chunk = 64 * 1024, chunks = 1024  // 64 MB on offer
        let server = try await ScriptedHTTPServer.start { _, _ in .stream(chunks: chunks, size: chunk) }
        defer { Task { await server.stop() } }
        let response = try await post(server)
        var iterator = UpstreamResponse(response).body.makeAsyncIterator()
        let first = try await iterator.next()
        #expect((first?.readableBytes ?? 0) > 0)
        try await Task.sleep(for: .milliseconds(400))
        // Without backpressure the client would have read all 64 MB by now; with it the server is stuck behind the
        // socket buffers and a few buffered chunks.
        let written = server.bytesWritten
        #expect(written < 32 * 1024 * 1024, "the upstream wrote \(written) bytes to a reader that took one chunk")
        _ = consume iterator
        // Dropping the rest must close the connection: it cannot carry another request with a body half-read.
        for _ in 0..<100 where server.closedConnections == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.closedConnections == 1)
        #expect(server.bytesWritten < chunk * chunks)
    }
}
