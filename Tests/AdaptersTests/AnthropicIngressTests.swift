import Core
import Testing
@testable import Adapters

@Suite struct AnthropicIngressTests {
    let codec = AnthropicIngress()

    // MARK: Golden files

    @Test(arguments: ["plain-text", "system-string-and-sampling", "system-blocks", "images", "tools-and-choice", "tool-round-trip"])
    func decodesRequest(_ name: String) throws {
        let body = try GoldenFile.object("anthropic/ingress-request/\(name).input.json")
        let request = try codec.decodeRequest(body, model: nil, stream: nil)
        try GoldenFile.expectJSON(CanonicalJSONFixture.json(request), matches: "anthropic/ingress-request/\(name).expected.json")
    }

    @Test(arguments: ["text-end-turn", "tool-use", "max-tokens", "refusal", "other-reason"])
    func encodesResponse(_ name: String) throws {
        let response = try CanonicalJSONFixture.response(try GoldenFile.json("anthropic/ingress-response/\(name).input.json"))
        let body = codec.encodeResponse(response, for: ChatRequest(model: response.model))
        try GoldenFile.expectJSON(body, matches: "anthropic/ingress-response/\(name).expected.json")
    }

    @Test(arguments: ["text", "tool-calls", "usage-only-at-end", "error"])
    func encodesStream(_ name: String) throws {
        let input = try GoldenFile.json("anthropic/ingress-stream/\(name).input.json")
        let frames = try CanonicalJSONFixture.encodeStream(codec.makeStreamEncoder(for: ChatRequest(model: "claude-test")), input: input)
        try GoldenFile.expectSSE(frames, matches: "anthropic/ingress-stream/\(name).expected.sse")
    }

    // MARK: Mappings

    @Test(arguments: [
        ("{\"type\":\"auto\"}", ToolChoice.auto), ("{\"type\":\"any\"}", .required), ("{\"type\":\"none\"}", ToolChoice.none),
        ("{\"type\":\"tool\",\"name\":\"lookup\"}", .named("lookup")),
    ])
    func mapsToolChoice(_ choice: String, _ expected: ToolChoice) throws {
        let request = try decode("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\(choice)}")
        #expect(request.toolChoice == expected)
    }

    @Test(arguments: [
        (FinishReason.stop, "end_turn"), (.length, "max_tokens"), (.toolCalls, "tool_use"), (.contentFilter, "refusal"),
        (.other("pause_turn"), "pause_turn"),
    ])
    func mapsFinishReasonToStopReason(_ reason: FinishReason, _ expected: String) {
        let response = ChatResponse(id: "msg_1", model: "m", created: 0, output: [], finishReason: reason, usage: Usage())
        #expect(codec.encodeResponse(response, for: ChatRequest(model: "m"))["stop_reason"] == .string(expected))
    }

    @Test func streamFlagFromBodyWinsAndDefaultsToFalse() throws {
        let base = "\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
        #expect(try decode("{\(base)}").stream == false)
        #expect(try decode("{\(base),\"stream\":true}").stream == true)
    }

    @Test func keepsAnExistingMessageIDAndPrefixesOthers() {
        func id(_ id: String) -> JSONValue? {
            let response = ChatResponse(id: id, model: "m", created: 0, output: [], finishReason: .stop, usage: Usage())
            return codec.encodeResponse(response, for: ChatRequest(model: "m"))["id"]
        }
        #expect(id("msg_01XFDUDYJgAACzvnptvVoYEL") == .string("msg_01XFDUDYJgAACzvnptvVoYEL"))
        #expect(id("chatcmpl-123") == .string("msg_chatcmpl-123"))
    }

    // MARK: Errors

    @Test(arguments: [
        ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "max_tokens", "missing_field"),
        ("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "missing_field"),
        ("{\"model\":\"m\",\"max_tokens\":5}", "messages", "missing_field"),
        ("{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "max_tokens", "invalid_value"),
        ("{\"model\":\"m\",\"max_tokens\":\"5\",\"messages\":[]}", "max_tokens", "invalid_type"),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}", "messages", "invalid_value"),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"hi\"}]}", "messages[0].role", "invalid_value"),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":42}]}", "messages[0].content", "invalid_type"),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[\"hi\"]}", "messages[0]", "invalid_type"),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\",\"source\":\"http://x\"}]}]}",
            "messages[0].content[1].source", "invalid_type"
        ),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f\"}}]}]}",
            "messages[0].content[0].source.type", "invalid_value"
        ),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{}}]}]}",
            "messages[0].content[0].type", "invalid_value"
        ),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
            "messages[0].content[0].text", "missing_field"
        ),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}]}]}",
            "messages[0].content[0].type", "invalid_value"
        ),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":\"{}\"}]}]}",
            "messages[0].content[0].input", "invalid_type"
        ),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":\"text\",\"text\":1}]}]}]}",
            "messages[0].content[0].content[0].text", "invalid_type"
        ),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"system\":[\"x\"]}", "system[0]", "invalid_type"),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"name\":\"t\"}]}", "tools[0].input_schema", "missing_field"),
        (
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]}",
            "tools[0].type", "invalid_value"
        ),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":{\"type\":\"tool\"}}", "tool_choice.name", "missing_field"),
        ("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", "temperature", "invalid_type"),
    ])
    func rejectsWithTheFieldNamed(_ body: String, _ param: String, _ code: String) throws {
        do {
            _ = try decode(body)
            Issue.record("expected a 400 naming \(param)")
        } catch {
            #expect(error.status.code == 400)
            #expect(error.param == param, "\(error.message)")
            #expect(error.code == code, "\(error.message)")
            #expect(error.message.contains(param))
        }
    }

    private func decode(_ text: String) throws(APIError) -> ChatRequest {
        guard case .object(let body) = try JSONText.parse(Array(text.utf8)) else { throw .badRequest("not an object") }
        return try codec.decodeRequest(body, model: nil, stream: nil)
    }
}
