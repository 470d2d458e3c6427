import Core
import Testing
@testable import MCP

@Suite struct JSONRPCTests {
    @Test func classifiesRequestsNotificationsAndResponses() throws {
        let request = JSONValue.object(["jsonrpc": .string("2.0"), "id": .int(1), "method": .string("tools/list")])
        #expect(try JSONRPC.classify(request).get() == .request(id: .int(1), method: "tools/list", params: nil))
        let note = JSONValue.object(["jsonrpc": .string("2.0"), "method": .string("notifications/initialized")])
        #expect(try JSONRPC.classify(note).get() == .notification(method: "notifications/initialized", params: nil))
        let response = JSONValue.object(["jsonrpc": .string("2.0"), "id": .string("a"), "result": .object([:])])
        #expect(try JSONRPC.classify(response).get() == .response(id: .string("a"), result: .object([:])))
    }

    @Test func malformedMessagesYieldInvalidRequest() {
        let cases: [JSONValue] = [
            .object(["id": .int(1), "method": .string("x")]),
            .object(["jsonrpc": .string("2.0"), "id": .bool(true), "method": .string("x")]),
            .object(["jsonrpc": .string("2.0"), "id": .int(1), "method": .string("")]),
            .object(["jsonrpc": .string("2.0"), "id": .int(1)]),
            .array([]),
        ]
        for value in cases {
            guard case .failure(let failure) = JSONRPC.classify(value) else {
                Issue.record("accepted \(value)")
                continue
            }
            #expect(failure.code == .invalidRequest)
        }
    }

    @Test func encodingRoundTrips() throws {
        let messages: [JSONRPC.Message] = [
            .request(id: .int(7), method: "tools/call", params: .object(["name": .string("echo")])),
            .notification(method: "ping", params: nil),
            .response(id: .int(7), result: .object(["ok": .bool(true)])),
            .error(id: .int(7), code: -32601, message: "no such method"),
        ]
        for message in messages {
            #expect(try JSONRPC.classify(JSONRPC.encode(message)).get() == message)
        }
    }
}
