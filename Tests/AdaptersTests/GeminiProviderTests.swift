import Core
import Testing
@testable import Adapters

@Suite struct GeminiProviderTests {
    let codec = GeminiProvider(now: { 1_750_000_000 })

    // MARK: Golden files

    @Test(arguments: ["plain-text", "system-and-config", "images", "function-calls", "json-object-and-no-tools"])
    func encodesRequest(_ name: String) throws {
        let input = try GoldenFile.json("gemini/provider-request/\(name).input.json")
        let request = try CanonicalJSONFixture.request(input["request"] ?? .null)
        let body = codec.encodeRequest(request, upstreamModel: input["upstreamModel"]?.stringValue ?? "")
        try GoldenFile.expectJSON(body, matches: "gemini/provider-request/\(name).expected.json")
    }

    @Test(arguments: ["text-with-thoughts", "function-calls", "max-tokens", "safety", "other-reason", "blocked-prompt", "error"])
    func decodesResponse(_ name: String) throws {
        let body = try GoldenFile.json("gemini/provider-response/\(name).input.json")
        let result: JSONValue
        do {
            result = CanonicalJSONFixture.json(try codec.decodeResponse(body, model: "client-model"))
        } catch {
            result = .object(["error": .string(error.message)])
        }
        try GoldenFile.expectJSON(result, matches: "gemini/provider-response/\(name).expected.json")
    }

    @Test(arguments: ["text", "function-calls", "blocked-prompt", "error"])
    func decodesStream(_ name: String) throws {
        let frames = try GoldenFile.frames("gemini/provider-stream/\(name).input.sse")
        let result = CanonicalJSONFixture.decodeStream(codec.makeStreamDecoder(model: "client-model"), frames: frames)
        try GoldenFile.expectJSON(result, matches: "gemini/provider-stream/\(name).expected.json")
    }

    // MARK: Mappings

    @Test(arguments: [
        ("STOP", false, FinishReason.stop), ("STOP", true, .toolCalls), ("MAX_TOKENS", false, .length),
        ("SAFETY", false, .contentFilter), ("RECITATION", false, .contentFilter), ("BLOCKLIST", false, .contentFilter),
        ("PROHIBITED_CONTENT", false, .contentFilter), ("SPII", false, .contentFilter),
        ("MALFORMED_FUNCTION_CALL", false, .other("MALFORMED_FUNCTION_CALL")), ("OTHER", false, .other("OTHER")),
    ])
    func mapsFinishReason(_ name: String, _ withCall: Bool, _ expected: FinishReason) throws {
        var parts: [JSONValue] = [.object(["text": .string("x")])]
        if withCall { parts.append(.object(["functionCall": .object(["name": .string("f"), "args": .object([:])])])) }
        let body: JSONValue = .object(["candidates": .array([.object([
            "content": .object(["role": .string("model"), "parts": .array(parts)]), "finishReason": .string(name),
        ])])])
        #expect(try codec.decodeResponse(body, model: "m").finishReason == expected)
    }

    @Test(arguments: [
        (ToolChoice.auto, "{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}"), (.required, "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}"),
        (ToolChoice.none, "{\"functionCallingConfig\":{\"mode\":\"NONE\"}}"),
        (.named("lookup"), "{\"functionCallingConfig\":{\"allowedFunctionNames\":[\"lookup\"],\"mode\":\"ANY\"}}"),
    ])
    func mapsToolChoice(_ choice: ToolChoice, _ expected: String) {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("hi")])])
        request.tools = [ToolDefinition(name: "lookup", description: nil, parameters: .object(["type": .string("object")]))]
        request.toolChoice = choice
        #expect(codec.encodeRequest(request, upstreamModel: "gemini")["toolConfig"].map(JSONText.render) == expected)
    }

    @Test func signsReplayedFunctionCallsWhenAsked() {
        let signing = GeminiProvider(replayedCallSignature: "skip_thought_signature_validator")
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, parts: [.text("hi")]),
            ChatMessage(role: .assistant, toolCalls: [
                ToolCall(id: "a", name: "f", arguments: "{}"), ToolCall(id: "b", name: "g", arguments: "{}"),
            ]),
        ])
        let parts = signing.encodeRequest(request, upstreamModel: "gemini-3-pro")["contents"]?.arrayValue?.last?["parts"]?.arrayValue
        #expect(parts?.first?["thoughtSignature"] == .string("skip_thought_signature_validator"))
        #expect(parts?.last?["thoughtSignature"] == nil)
        #expect(codec.encodeRequest(request, upstreamModel: "gemini")["contents"]?.arrayValue?.last?["parts"]?
            .arrayValue?.first?["thoughtSignature"] == nil)
    }

    // MARK: Round trips

    /// What the provider sends a Gemini upstream reads back, through our own Gemini ingress, as the same request.
    @Test func requestSurvivesProviderThenIngress() throws {
        let original = try CanonicalJSONFixture.request(try GoldenFile.json("gemini/round-trip-request.json"))
        let body = try #require(codec.encodeRequest(original, upstreamModel: "gemini-2.5-pro").objectValue)
        let decoded = try GeminiIngress().decodeRequest(body, model: original.model, stream: original.stream)
        #expect(CanonicalJSONFixture.json(decoded) == CanonicalJSONFixture.json(original))
    }

    @Test(arguments: [FinishReason.stop, .length, .toolCalls, .contentFilter])
    func responseSurvivesIngressThenProvider(_ reason: FinishReason) throws {
        let calls = reason == .toolCalls
            ? [OutputItem.toolCall(ToolCall(id: "call_0", name: "lookup", arguments: "{\"q\":\"x\"}"))] : []
        let original = ChatResponse(
            id: "resp-1", model: "gemini-test", created: 1_750_000_000, output: [.text("Answer.")] + calls,
            finishReason: reason, usage: Usage(inputTokens: 120, outputTokens: 30, cachedInputTokens: 100, reasoningTokens: 12)
        )
        let body = GeminiIngress().encodeResponse(original, for: ChatRequest(model: "gemini-test"))
        #expect(try codec.decodeResponse(body, model: "gemini-test") == original)
    }

    /// The stream the ingress encoder writes decodes back into the same calls, with whole arguments per call.
    @Test func streamSurvivesIngressEncoderThenProviderDecoder() throws {
        let usage = Usage(inputTokens: 50, outputTokens: 17, cachedInputTokens: 20, reasoningTokens: 5)
        let events: [StreamEvent] = [
            .start(id: "resp-1", model: "gemini-test"), .textDelta("Let me "), .textDelta("look."),
            .toolCallStart(index: 0, id: "call_0", name: "lookup"),
            .toolCallArgumentsDelta(index: 0, fragment: "{\"q\":"), .toolCallArgumentsDelta(index: 0, fragment: "\"x\"}"),
            .toolCallStart(index: 1, id: "call_1", name: "fetch"),
            .finish(.toolCalls), .usage(usage),
        ]
        var encoder = GeminiIngress().makeStreamEncoder(for: ChatRequest(model: "gemini-test"))
        var parser = SSEParser()
        let wire = parser.feed(Array((events.flatMap { encoder.encode($0) } + encoder.finish()).map(\.serialized).joined().utf8))
        var decoder = codec.makeStreamDecoder(model: "gemini-test")
        var decoded: [StreamEvent] = []
        for frame in wire { decoded += try decoder.decode(frame) }
        #expect(decoder.isComplete)
        #expect(decoded == [
            .start(id: "resp-1", model: "gemini-test"), .textDelta("Let me "), .textDelta("look."),
            .toolCallStart(index: 0, id: "call_0", name: "lookup"), .toolCallArgumentsDelta(index: 0, fragment: "{\"q\":\"x\"}"),
            .toolCallStart(index: 1, id: "call_1", name: "fetch"), .toolCallArgumentsDelta(index: 1, fragment: "{}"),
            .finish(.toolCalls), .usage(usage),
        ])
    }
}
