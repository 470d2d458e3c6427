import NIOCore
import NIOHTTP1
import Testing
@testable import Gateway
import HTTP1Wire

/// `UpstreamResponseParser` on raw response bytes. Every well-formed case is parsed whole, split in two at every
/// byte and one byte at a time: the parts must not depend on how the bytes arrived.
@Suite struct UpstreamResponseParserTests {
    enum Event: Equatable {
        /// The status and `Retry-After`, the head's parts anything downstream reads.
        case head(Int, retryAfter: String? = nil)
        case body(String)
        case end
    }

    struct Parsed: Equatable {
        var events: [Event] = []
        var reusable = false
    }

    /// Feeds the pieces after a request with `method`; consecutive body parts are joined.
    static func parse(_ pieces: [String], method: HTTPMethod = .POST) throws(UpstreamResponseParser.Failure) -> Parsed {
        var parser = UpstreamResponseParser()
        parser.expectResponse(to: method)
        var parsed = Parsed()
        for piece in pieces {
            parser.append(ByteBuffer(string: piece))
            while let part = try parser.next() {
                switch part {
                case .head(let head):
                    parsed.events.append(.head(head.status, retryAfter: head.retryAfter))
                case .body(let bytes):
                    if case .body(let earlier) = parsed.events.last {
                        parsed.events[parsed.events.count - 1] = .body(earlier + String(buffer: bytes))
                    } else {
                        parsed.events.append(.body(String(buffer: bytes)))
                    }
                case .end:
                    parsed.events.append(.end)
                }
            }
        }
        parsed.reusable = parser.reusable
        return parsed
    }

    /// The same result whole, split at every byte, and byte by byte.
    static func expectSameEverySplit(_ wire: String, method: HTTPMethod = .POST, _ expected: Parsed) throws {
        let bytes = Array(wire.utf8)
        func text(_ slice: ArraySlice<UInt8>) -> String { String(decoding: slice, as: UTF8.self) }
        #expect(try parse([wire], method: method) == expected, "whole")
        for cut in 1..<bytes.count {
            #expect(try parse([text(bytes[..<cut]), text(bytes[cut...])], method: method) == expected, "split at \(cut)")
        }
        #expect(try parse(bytes.map { text([$0]) }, method: method) == expected, "byte by byte")
    }

    @Test func aSizedBodyEndsAtItsLength() throws {
        try Self.expectSameEverySplit(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\nhello world",
            Parsed(events: [.head(200), .body("hello world"), .end], reusable: true)
        )
    }

    @Test func chunkedBodiesWithExtensionsAndTrailers() throws {
        try Self.expectSameEverySplit(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6 \r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
            Parsed(events: [.head(200), .body("hello world0123456789"), .end], reusable: true)
        )
    }

    @Test func interimHeadsAreSkippedAndBodilessAnswersEndAtTheirHead() throws {
        try Self.expectSameEverySplit(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nRetry-After:  30\t \r\n\r\n",
            Parsed(events: [.head(204, retryAfter: "30"), .end], reusable: true)
        )
        try Self.expectSameEverySplit(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", method: .HEAD,
            Parsed(events: [.head(200), .end], reusable: true)
        )
        try Self.expectSameEverySplit(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Parsed(events: [.head(200), .end], reusable: true)
        )
    }

    @Test func retryAfterIsTheOneFieldKeptAndItsFirstValueWins() throws {
        try Self.expectSameEverySplit(
            "HTTP/1.1 429 Too Many Requests\r\nX-Other: 1\r\nretry-AFTER: 12\r\nRetry-After: 99\r\nContent-Length: 0\r\n\r\n",
            Parsed(events: [.head(429, retryAfter: "12"), .end], reusable: true)
        )
        #expect(try Self.parse(["HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n"]).events == [.head(503, retryAfter: nil), .end])
    }

    @Test func bareLineFeedsAreAccepted() throws {
        try Self.expectSameEverySplit(
            "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", Parsed(events: [.head(200), .body("hi"), .end], reusable: true)
        )
        try Self.expectSameEverySplit(
            "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n0\n\n",
            Parsed(events: [.head(200), .body("hi"), .end], reusable: true)
        )
    }

    @Test func aBodyWithoutFramingLastsUntilTheCloseAndTheConnectionIsNotReused() throws {
        var parser = UpstreamResponseParser()
        parser.expectResponse(to: .POST)
        parser.append(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n"))
        #expect(try parser.next().map { if case .head = $0 { true } else { false } } == true)
        #expect(try parser.next() == .body(ByteBuffer(string: "data: 1\n\n")))
        #expect(try parser.next() == nil)
        parser.append(ByteBuffer(string: "data: 2\n\n"))
        #expect(try parser.next() == .body(ByteBuffer(string: "data: 2\n\n")))
        let ended = parser.inputEnded()
        #expect(ended, "the close ends the body")
        #expect(!parser.reusable)
    }

    @Test func whatForbidsReuse() throws {
        #expect(try !Self.parse(["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"]).reusable)
        #expect(try !Self.parse(["HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"]).reusable)
        #expect(try Self.parse(["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"]).reusable)
        let both = try Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"])
        #expect(both.events.last == .end && both.events.contains(.body("hi")), "the transfer coding wins")
        #expect(!both.reusable, "but the connection is not trusted again")
        let gzip = try Self.parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz"])
        #expect(gzip.events.last == .body("zz") && !gzip.reusable, "a final coding other than chunked reads until the close")
    }

    @Test func consecutiveResponsesOnOneConnection() throws {
        var parser = UpstreamResponseParser()
        for round in 0..<3 {
            parser.expectResponse(to: .POST)
            parser.append(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\(round)"))
            var events: [String] = []
            while let part = try parser.next() {
                switch part {
                case .head: events.append("head")
                case .body(let bytes): events.append(String(buffer: bytes))
                case .end: events.append("end")
                }
            }
            #expect(events == ["head", "\(round)", "end"])
            #expect(parser.reusable)
        }
    }

    @Test func malformedResponsesAreErrors() {
        let cases = [
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
            "HTTP/1.1 200OK\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\u{7F}b\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
        ]
        for wire in cases {
            #expect(throws: UpstreamResponseParser.Failure.self, "\(wire.debugDescription)") { try Self.parse([wire]) }
        }
    }

    @Test func bytesNobodyAskedForAreErrors() throws {
        var parser = UpstreamResponseParser()
        parser.append(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"))
        do {
            _ = try parser.next()
            Issue.record("a response with no request waiting was parsed")
        } catch {
            #expect(error == .unsolicited)
        }

        #expect(throws: UpstreamResponseParser.Failure.unsolicited) {
            try Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA"])
        }
    }

    @Test func oversizedHeadsAndLinesAreRefusedBeforeTheirEnd() {
        let header = "X-Big: " + String(repeating: "a", count: UpstreamResponseParser.maxHeadBytes) + "\r\n"
        #expect(throws: UpstreamResponseParser.Failure.self) { try Self.parse(["HTTP/1.1 200 OK\r\n", header]) }
        let longExtension = String(repeating: "e", count: HTTP1BodyReader.maxLineBytes + 1)
        #expect(throws: UpstreamResponseParser.Failure.self) {
            try Self.parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;", longExtension])
        }
    }

    @Test func aCloseInsideASizedOrChunkedBodyIsNotAnEnd() throws {
        for wire in ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"] {
            var parser = UpstreamResponseParser()
            parser.expectResponse(to: .POST)
            parser.append(ByteBuffer(string: wire))
            while try parser.next() != nil {}
            let ended = parser.inputEnded()
            #expect(!ended)
        }
    }
}
