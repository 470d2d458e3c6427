import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing
@testable import HTTPServer

/// The server's request parser on raw bytes: heads convert as swift-nio-extras converts NIO's, bodies arrive whole
/// however the bytes are split, and what RFC 9112 (and request-smuggling defences) refuse is refused.
@Suite struct HTTP1RequestParserTests {
    static let limits = HTTP1RequestParser.Limits(headBytes: 80 * 1024, fieldCount: 100)

    enum Event: Equatable {
        case head(HTTPRequest, keepAlive: Bool, length: Int?)
        case body(String)
        case end
    }

    static func parse(_ pieces: [String]) throws -> [Event] {
        var parser = HTTP1RequestParser(limits: limits)
        var events: [Event] = []
        for piece in pieces {
            parser.append(ByteBuffer(string: piece))
            while let part = try parser.next() {
                switch part {
                case .head(let head): events.append(.head(head.request, keepAlive: head.keepAlive, length: head.declaredLength))
                case .body(let bytes):
                    if case .body(let earlier) = events.last {
                        events[events.count - 1] = .body(earlier + String(buffer: bytes))
                    } else {
                        events.append(.body(String(buffer: bytes)))
                    }
                case .end: events.append(.end)
                }
            }
        }
        return events
    }

    static func expectSameEverySplit(_ wire: String, _ expected: [Event]) throws {
        let bytes = Array(wire.utf8)
        func text(_ slice: ArraySlice<UInt8>) -> String { String(decoding: slice, as: UTF8.self) }
        #expect(try parse([wire]) == expected, "whole")
        for cut in 1..<bytes.count {
            #expect(try parse([text(bytes[..<cut]), text(bytes[cut...])]) == expected, "split at \(cut)")
        }
        #expect(try parse(bytes.map { text([$0]) }) == expected, "byte by byte")
    }

    static let conversions: [(String, HTTPRequestHead)] = [
        (
            "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: gw.example:8080\r\nContent-Type: application/json\r\nX-Api-Key: k\r\nhost: second\r\n\r\n",
            HTTPRequestHead(
                version: .http1_1, method: .POST, uri: "/v1/chat/completions?x=1",
                headers: HTTPHeaders([("Host", "gw.example:8080"), ("Content-Type", "application/json"), ("X-Api-Key", "k"), ("host", "second")])
            )
        ),
        ("GET /models HTTP/1.1\r\nAccept: */*\r\n\r\n", HTTPRequestHead(version: .http1_1, method: .GET, uri: "/models", headers: HTTPHeaders([("Accept", "*/*")]))),
        (
            "PURGE / HTTP/1.1\r\nHOST: a\r\ncookie: a=1; b=2\r\n\r\n",
            HTTPRequestHead(version: .http1_1, method: .RAW(value: "PURGE"), uri: "/", headers: HTTPHeaders([("HOST", "a"), ("cookie", "a=1; b=2")]))
        ),
        (
            "GET http://gw.example/v1/models?q=2 HTTP/1.1\r\nHost: gw.example\r\n\r\n",
            HTTPRequestHead(version: .http1_1, method: .GET, uri: "http://gw.example/v1/models?q=2", headers: HTTPHeaders([("Host", "gw.example")]))
        ),
    ]

    @Test func headsConvertAsSwiftNIOExtrasConvertsNIOsHead() throws {
        for (wire, head) in Self.conversions {
            let expected = try HTTPRequest(head, secure: false, splitCookie: false)
            guard case .head(let request, _, _) = try Self.parse([wire]).first else {
                Issue.record("no head from \(wire.debugDescription)")
                continue
            }
            #expect(request == expected, "\(wire.debugDescription)")
            #expect(request.headerFields.count == expected.headerFields.count)
        }
        guard case .head(let request, _, _) = try Self.parse(["GET /x HTTP/1.1\r\nhOsT: h\r\nHosts: not-it\r\n\r\n"]).first else {
            Issue.record("no head")
            return
        }
        #expect(request.authority == "h", "a Host in any case is the authority")
        #expect(request.headerFields[HTTPField.Name("hosts")!] == "not-it")
    }

    static func request(_ method: HTTPRequest.Method, _ path: String, _ fields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: method, scheme: "http", authority: "x", path: path, headerFields: fields)
    }

    @Test func sizedAndChunkedBodiesAndPipelinedRequests() throws {
        try Self.expectSameEverySplit(
            "\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                + "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
                + "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            [
                .head(Self.request(.post, "/a", [.contentLength: "5"]), keepAlive: true, length: 5), .body("hello"), .end,
                .head(Self.request(.post, "/b", [.transferEncoding: "chunked"]), keepAlive: true, length: nil), .body("abcde"), .end,
                .head(Self.request(.get, "/c", [.connection: "close"]), keepAlive: false, length: 0), .end,
            ]
        )
    }

    @Test func http10KeepsTheConnectionOnlyWhenAsked() throws {
        guard case .head(_, let closing, _) = try Self.parse(["GET / HTTP/1.0\r\n\r\n"]).first,
            case .head(_, let kept, _) = try Self.parse(["GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"]).first
        else {
            Issue.record("no heads")
            return
        }
        #expect(!closing && kept)
    }

    @Test func whatRFC9112AndSmugglingDefencesRefuse() {
        let refused = [
            "GET /a HTTP/2.0\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "GET  /a HTTP/1.1\r\n\r\n",
            "G(T /a HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nX-A : b\r\n\r\n",
            "GET /a HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n",
            "GET /a HTTP/1.1\r\nX-A: a\u{01}b\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
            "POST /a HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
        ]
        for wire in refused {
            #expect(throws: (any Error).self, "\(wire.debugDescription)") { try Self.parse([wire]) }
        }
    }

    @Test func headsPastTheLimitsAreRefusedBeforeTheirEnd() {
        let long = "GET /a HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: Self.limits.headBytes)
        #expect(throws: (any Error).self) { try Self.parse([long]) }
        let many = "GET /a HTTP/1.1\r\n" + (0...Self.limits.fieldCount).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(throws: (any Error).self) { try Self.parse([many]) }
    }

    @Test func nothingIsReadAfterAFailure() throws {
        var parser = HTTP1RequestParser(limits: Self.limits)
        parser.append(ByteBuffer(string: "BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n"))
        #expect(throws: (any Error).self) { _ = try parser.next() }
        parser.append(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        let after = try parser.next()
        #expect(after == nil)
    }
}
