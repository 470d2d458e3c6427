import Core
import Testing
@testable import Adapters

@Suite struct AnthropicProviderTests {
    let codec = AnthropicProvider(now: { 1_750_000_000 })

    // MARK: Golden files

    @Test(arguments: ["plain-text", "system-and-sampling", "images", "tools-and-choice", "tool-results-merged", "same-role-merged"])
    func encodesRequest(_ name: String) throws {
        let input = try GoldenFile.json("anthropic/provider-request/\(name).input.json")
        let request = try CanonicalJSONFixture.request(input["request"] ?? .null)
        let body = codec.encodeRequest(request, upstreamModel: input["upstreamModel"]?.stringValue ?? "")
        try GoldenFile.expectJSON(body, matches: "anthropic/provider-request/\(name).expected.json")
    }

    @Test(arguments: ["text-with-cache", "tool-use-with-thinking", "stop-sequence", "max-tokens", "refusal", "pause-turn", "error"])
    func decodesResponse(_ name: String) throws {
        let body = try GoldenFile.json("anthropic/provider-response/\(name).input.json")
        let result: JSONValue
        do {
            result = CanonicalJSONFixture.json(try codec.decodeResponse(body, model: "client-model"))
        } catch {
            result = .object(["error": .string(error.message)])
        }
        try GoldenFile.expectJSON(result, matches: "anthropic/provider-response/\(name).expected.json")
    }

    @Test(arguments: ["text", "tool-use", "max-tokens", "error"])
    func decodesStream(_ name: String) throws {
        let frames = try GoldenFile.frames("anthropic/provider-stream/\(name).input.sse")
        let result = CanonicalJSONFixture.decodeStream(codec.makeStreamDecoder(model: "client-model"), frames: frames)
        try GoldenFile.expectJSON(result, matches: "anthropic/provider-stream/\(name).expected.json")
    }

    // MARK: Mappings

    @Test(arguments: [
        (ToolChoice.auto, "{\"type\":\"auto\"}"), (.required, "{\"type\":\"any\"}"), (ToolChoice.none, "{\"type\":\"none\"}"),
        (.named("lookup"), "{\"name\":\"lookup\",\"type\":\"tool\"}"),
    ])
    func mapsToolChoice(_ choice: ToolChoice, _ expected: String) {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("hi")])])
        request.tools = [ToolDefinition(name: "lookup", description: nil, parameters: .object(["type": .string("object")]))]
        request.toolChoice = choice
        #expect(codec.encodeRequest(request, upstreamModel: "claude")["tool_choice"].map(JSONText.render) == expected)
    }

    @Test func leavesToolChoiceOutWithoutTools() {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("hi")])])
        request.toolChoice = .required
        #expect(codec.encodeRequest(request, upstreamModel: "claude")["tool_choice"] == nil)
    }

    @Test(arguments: [
        ("end_turn", FinishReason.stop), ("stop_sequence", .stop), ("max_tokens", .length), ("tool_use", .toolCalls),
        ("refusal", .contentFilter), ("pause_turn", .other("pause_turn")),
    ])
    func mapsStopReason(_ stopReason: String, _ expected: FinishReason) throws {
        let body: JSONValue = .object(["id": .string("msg_1"), "content": .array([]), "stop_reason": .string(stopReason)])
        #expect(try codec.decodeResponse(body, model: "m").finishReason == expected)
    }

    // MARK: Round trips

    /// What the provider sends an Anthropic upstream reads back, through our own Anthropic ingress, as the same request.
    @Test func requestSurvivesProviderThenIngress() throws {
        let original = try CanonicalJSONFixture.request(try GoldenFile.json("anthropic/round-trip-request.json"))
        guard case .object(let body) = codec.encodeRequest(original, upstreamModel: original.model) else {
            Issue.record("request body is not an object")
            return
        }
        let decoded = try AnthropicIngress().decodeRequest(body, model: nil, stream: nil)
        #expect(CanonicalJSONFixture.json(decoded) == CanonicalJSONFixture.json(original))
    }

    @Test(arguments: [FinishReason.stop, .length, .toolCalls, .contentFilter, .other("pause_turn")])
    func responseSurvivesIngressThenProvider(_ reason: FinishReason) throws {
        let original = ChatResponse(
            id: "msg_01abc", model: "claude-test", created: 1_750_000_000,
            output: [.text("Checking."), .toolCall(ToolCall(id: "toolu_1", name: "lookup", arguments: "{\"q\":\"x\"}"))],
            finishReason: reason, usage: Usage(inputTokens: 120, outputTokens: 30, cachedInputTokens: 100)
        )
        let body = AnthropicIngress().encodeResponse(original, for: ChatRequest(model: "claude-test"))
        #expect(try codec.decodeResponse(body, model: "claude-test") == original)
    }

    /// The stream the ingress encoder writes decodes, through the provider decoder, back into the same events.
    @Test func streamSurvivesIngressEncoderThenProviderDecoder() throws {
        let events: [StreamEvent] = [
            .start(id: "msg_01abc", model: "claude-test"),
            .usage(Usage(inputTokens: 50, cachedInputTokens: 20)),
            .textDelta("Let me "), .textDelta("look."),
            .toolCallStart(index: 0, id: "toolu_a", name: "lookup"),
            .toolCallArgumentsDelta(index: 0, fragment: "{\"q\":"), .toolCallArgumentsDelta(index: 0, fragment: "\"x\"}"),
            .toolCallStart(index: 1, id: "toolu_b", name: "fetch"),
            .toolCallArgumentsDelta(index: 1, fragment: "{}"),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 50, outputTokens: 17, cachedInputTokens: 20)),
        ]
        var encoder = AnthropicIngress().makeStreamEncoder(for: ChatRequest(model: "claude-test"))
        var wire = events.flatMap { encoder.encode($0) } + encoder.finish()
        wire = reparsed(wire)
        var decoder = codec.makeStreamDecoder(model: "claude-test")
        var decoded: [StreamEvent] = []
        for frame in wire { decoded += try decoder.decode(frame) }
        #expect(decoder.isComplete)
        // message_start carries the usage known when output began; message_delta the final one.
        #expect(decoded == [events[0], events[1]] + events[2...9] + [events[10]])
    }

    private func reparsed(_ frames: [SSEFrame]) -> [SSEFrame] {
        var parser = SSEParser()
        return parser.feed(Array(frames.map(\.serialized).joined().utf8)) + parser.finish()
    }
}
