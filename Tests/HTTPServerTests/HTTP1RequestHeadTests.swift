import HTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing
@testable import HTTPServer

/// The request-head conversion gives what swift-nio-extras' conversion gives.
@Suite struct HTTP1RequestHeadTests {
    static let heads: [HTTPRequestHead] = [
        HTTPRequestHead(
            version: .http1_1, method: .POST, uri: "/v1/chat/completions?x=1",
            headers: HTTPHeaders([("Host", "gw.example:8080"), ("Content-Type", "application/json"), ("X-Api-Key", "k"), ("host", "second")])
        ),
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/models", headers: HTTPHeaders([("Accept", "*/*")])),
        HTTPRequestHead(version: .http1_1, method: .RAW(value: "PURGE"), uri: "/", headers: HTTPHeaders([("HOST", "a"), ("cookie", "a=1; b=2")])),
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "http://gw.example/v1/models?q=2", headers: HTTPHeaders([("Host", "gw.example")])),
    ]

    @Test(arguments: heads)
    func convertsLikeSwiftNIOExtras(_ head: HTTPRequestHead) throws {
        let expected = try HTTPRequest(head, secure: false, splitCookie: false)
        let converted = try #require(HTTP1RequestHead.request(head))
        #expect(converted == expected)
        #expect(converted.headerFields.count == expected.headerFields.count)
    }

    @Test func aHostInAnyCaseBecomesTheAuthority() throws {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x", headers: HTTPHeaders([("hOsT", "h"), ("Hosts", "not-it")]))
        let converted = try #require(HTTP1RequestHead.request(head))
        #expect(converted.authority == "h")
        #expect(converted.headerFields[HTTPField.Name("hosts")!] == "not-it")
    }
}
