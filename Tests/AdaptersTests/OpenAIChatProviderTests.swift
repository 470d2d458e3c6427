@testable import Adapters
import Core
import Testing

@Suite struct OpenAIChatProviderTests {
    let provider = OpenAIChatProvider(clock: OpenAIFixtures.clock)
    let ingress = OpenAIChatIngress(clock: OpenAIFixtures.clock)

    // MARK: Requests

    @Test(arguments: ["provider-request-conversation", "provider-request-stream"])
    func encodesUpstreamRequest(_ name: String) throws {
        let request = try ingress.decodeRequest(try GoldenFile.object("openai-chat/\(name).input.json"), model: nil, stream: nil)
        let body = provider.encodeRequest(request, upstreamModel: "gpt-4o-2024-08-06")
        try GoldenFile.expectJSON(body, matches: "openai-chat/\(name).expected.json")
    }

    @Test func streamAlwaysAsksForUsage() {
        let body = provider.encodeRequest(ChatRequest(model: "m", messages: [ChatMessage(role: .user, parts: [.text("hi")])], stream: true), upstreamModel: "u")
        #expect(body["stream"] == .bool(true))
        #expect(body["stream_options"] == .object(["include_usage": .bool(true)]))
        let plain = provider.encodeRequest(ChatRequest(model: "m"), upstreamModel: "u")
        #expect(plain["stream"] == nil)
        #expect(plain["stream_options"] == nil)
    }

    /// Canonical features other formats produce (tool images, names, error flags) still give a valid chat body.
    @Test func toolResultsKeepTextOnly() {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .tool, parts: [.text("chart:"), .image(.url("https://example.com/c.png"))], toolCallId: "toolu_1",
                        toolName: "plot", isError: true),
        ])
        let messages = provider.encodeRequest(request, upstreamModel: "u")["messages"]?.arrayValue
        #expect(messages == [.object(["role": .string("tool"), "tool_call_id": .string("toolu_1"), "content": .string("chart:")])])
    }

    // MARK: Round trips

    @Test(arguments: [
        "ingress-plain-text", "ingress-system-prompt", "ingress-multipart-image", "ingress-tools",
        "ingress-tool-call-history", "ingress-sampling", "ingress-stop-string", "provider-request-conversation",
    ])
    func clientRequestSurvivesProviderEncoding(_ name: String) throws {
        let original = try ingress.decodeRequest(try GoldenFile.object("openai-chat/\(name).input.json"), model: nil, stream: nil)
        guard case .object(let body) = provider.encodeRequest(original, upstreamModel: "upstream-model") else {
            Issue.record("provider body is not an object")
            return
        }
        var again = try ingress.decodeRequest(body, model: nil, stream: nil)
        #expect(again.model == "upstream-model")
        again.model = original.model
        // The provider body always asks for stream usage; whether the client sees it is the client's choice.
        again.streamIncludeUsage = original.streamIncludeUsage
        #expect(again == original)
    }

    @Test func answerSurvivesClientEncoding() throws {
        let original = ChatResponse(
            id: "chatcmpl-rt", model: "gpt-4o", created: OpenAIFixtures.created,
            output: [.text("Let me look."), .toolCall(ToolCall(id: "call_1", name: "search", arguments: #"{"q":"swift"}"#))],
            finishReason: .toolCalls, usage: OpenAIFixtures.usage
        )
        let body = ingress.encodeResponse(original, for: ChatRequest(model: "gpt-4o"))
        #expect(try provider.decodeResponse(body, model: "gpt-4o") == original)
    }

    @Test func streamSurvivesClientEncoding() throws {
        let original: [StreamEvent] = [
            .start(id: "chatcmpl-rt", model: "gpt-4o"), .textDelta("Hi"),
            .toolCallStart(index: 0, id: "call_a", name: "a"), .toolCallArgumentsDelta(index: 0, fragment: "{}"),
            .toolCallStart(index: 1, id: "call_b", name: "b"), .toolCallArgumentsDelta(index: 1, fragment: "{\"x\":"),
            .toolCallArgumentsDelta(index: 1, fragment: "1}"), .finish(.toolCalls), .usage(OpenAIFixtures.usage),
        ]
        let request = ChatRequest(model: "gpt-4o", stream: true, streamIncludeUsage: true)
        let frames = OpenAIFixtures.encode(original, with: ingress.makeStreamEncoder(for: request))
        let decoded = try OpenAIFixtures.decode(frames, with: provider.makeStreamDecoder(model: "gpt-4o"))
        #expect(decoded.events == original)
        #expect(decoded.complete)
    }

    // MARK: Complete answers

    @Test(arguments: ["provider-response-text", "provider-response-tool-calls", "provider-response-length"])
    func decodesUpstreamAnswer(_ name: String) throws {
        let response = try provider.decodeResponse(try GoldenFile.json("openai-chat/\(name).input.json"), model: "client-model")
        try GoldenFile.expectJSON(OpenAICanonicalDump.response(response), matches: "openai-chat/\(name).expected.json")
    }

    @Test(arguments: [
        ("stop", FinishReason.stop), ("length", .length), ("tool_calls", .toolCalls), ("function_call", .toolCalls),
        ("content_filter", .contentFilter), ("insufficient_system_resource", .other("insufficient_system_resource")),
    ])
    func decodesFinishReason(_ word: String, _ expected: FinishReason) throws {
        let body: JSONValue = .object([
            "id": .string("c"), "choices": .array([.object([
                "index": .int(0), "message": .object(["role": .string("assistant"), "content": .string("x")]),
                "finish_reason": .string(word),
            ])]),
        ])
        #expect(try provider.decodeResponse(body, model: "m").finishReason == expected)
    }

    @Test func errorBodiesAndMissingChoicesThrow() {
        let error: JSONValue = .object(["error": .object(["message": .string("Rate limit reached"), "type": .string("requests")])])
        #expect(throws: UpstreamStreamError("Rate limit reached")) { try provider.decodeResponse(error, model: "m") }
        #expect(throws: UpstreamStreamError.self) { try provider.decodeResponse(.object(["id": .string("x")]), model: "m") }
        #expect(throws: UpstreamStreamError.self) { try provider.decodeResponse(.object(["choices": .array([])]), model: "m") }
        #expect(throws: UpstreamStreamError.self) { try provider.decodeResponse(.string("nope"), model: "m") }
    }

    // MARK: Streams

    @Test(arguments: ["provider-stream-text", "provider-stream-tool-calls"])
    func decodesUpstreamStream(_ name: String) throws {
        let frames = try GoldenFile.frames("openai-chat/\(name).input.sse")
        let decoded = try OpenAIFixtures.decode(frames, with: provider.makeStreamDecoder(model: "client-model"))
        #expect(decoded.complete)
        try GoldenFile.expectJSON(OpenAICanonicalDump.events(decoded.events), matches: "openai-chat/\(name).expected.json")
    }

    @Test func streamErrorObjectThrows() throws {
        var decoder = provider.makeStreamDecoder(model: "m")
        let frames = try GoldenFile.frames("openai-chat/provider-stream-error.input.sse")
        #expect(try decoder.decode(frames[0]) == [.start(id: "chatcmpl-err", model: "m"), .textDelta("Partial")])
        #expect(throws: UpstreamStreamError("The server had an error while processing your request.")) {
            try decoder.decode(frames[1])
        }
        #expect(!decoder.isComplete)
        #expect(throws: UpstreamStreamError.self) { try decoder.decode(SSEFrame(data: "not json")) }
    }

    @Test func startIsEmittedOnceAndCallsNumberedPerId() throws {
        // Some compatible servers number every call 0 and deliver whole argument objects.
        let frames = [
            #"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"a","arguments":{"k":1}}}]}}]}"#,
            #"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_b","function":{"name":"b","arguments":"{}"}}]}}]}"#,
            #"{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ].map { SSEFrame(data: $0) }
        let decoded = try OpenAIFixtures.decode(frames, with: provider.makeStreamDecoder(model: "m"))
        #expect(decoded.events == [
            .start(id: "x", model: "m"),
            .toolCallStart(index: 0, id: "call_a", name: "a"), .toolCallArgumentsDelta(index: 0, fragment: #"{"k":1}"#),
            .toolCallStart(index: 1, id: "call_b", name: "b"), .toolCallArgumentsDelta(index: 1, fragment: "{}"),
            .finish(.toolCalls),
        ])
        #expect(!decoded.complete)
    }
}
