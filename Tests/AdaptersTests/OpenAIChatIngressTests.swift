@testable import Adapters
import Core
import Testing

@Suite struct OpenAIChatIngressTests {
    let codec = OpenAIChatIngress(clock: OpenAIFixtures.clock)

    // MARK: Requests

    @Test(arguments: [
        "ingress-plain-text", "ingress-system-prompt", "ingress-multipart-image", "ingress-tools",
        "ingress-tool-call-history", "ingress-sampling", "ingress-stop-string",
    ])
    func decodesClientRequest(_ name: String) throws {
        let body = try GoldenFile.object("openai-chat/\(name).input.json")
        let request = try codec.decodeRequest(body, model: nil, stream: nil)
        try GoldenFile.expectJSON(OpenAICanonicalDump.request(request), matches: "openai-chat/\(name).expected.json")
    }

    @Test func streamArgumentOverridesTheBody() throws {
        let body = try GoldenFile.object("openai-chat/ingress-sampling.input.json")
        #expect(try codec.decodeRequest(body, model: nil, stream: false).stream == false)
        #expect(try codec.decodeRequest(body, model: nil, stream: nil).stream == true)
        let plain = try GoldenFile.object("openai-chat/ingress-plain-text.input.json")
        #expect(try codec.decodeRequest(plain, model: nil, stream: true).stream == true)
    }

    // MARK: Request errors

    private func error(_ json: String) throws -> APIError? {
        guard case .object(let body) = try JSONText.parse(Array(json.utf8)) else { throw GoldenError("not an object") }
        return OpenAIFixtures.badRequest { () throws(APIError) in try codec.decodeRequest(body, model: nil, stream: nil) }
    }

    @Test func missingModelNamesTheField() throws {
        let error = try #require(try error(#"{"messages":[{"role":"user","content":"hi"}]}"#))
        #expect(error.status == .badRequest)
        #expect(error.param == "model")
        #expect(error.code == "missing_field")
    }

    @Test func messagesMustBeANonEmptyArray() throws {
        let notArray = try #require(try error(#"{"model":"m","messages":{"role":"user"}}"#))
        #expect(notArray.param == "messages")
        #expect(notArray.message.contains("must be an array"))
        let empty = try #require(try error(#"{"model":"m","messages":[]}"#))
        #expect(empty.param == "messages")
        let missing = try #require(try error(#"{"model":"m"}"#))
        #expect(missing.param == "messages")
    }

    @Test func numericContentNamesThePath() throws {
        let error = try #require(try error(#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":42}]}"#))
        #expect(error.status == .badRequest)
        #expect(error.param == "messages[1].content")
        #expect(error.message.contains("got a number"))
    }

    @Test func unknownAndLegacyRolesAreRejected() throws {
        let unknown = try #require(try error(#"{"model":"m","messages":[{"role":"wizard","content":"hi"}]}"#))
        #expect(unknown.param == "messages[0].role")
        #expect(unknown.message.contains("wizard"))
        let legacy = try #require(try error(#"{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}"#))
        #expect(legacy.param == "messages[0].role")
        #expect(legacy.message.contains("tool"))
    }

    @Test func wrongTypesDeeperDownNameTheirPath() throws {
        let cases: [(String, String)] = [
            (#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":7}]}]}"#, "messages[0].content[0].text"),
            (#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}"#, "messages[0].content[0].type"),
            (#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}"#,
             "messages[0].content[0].image_url.url"),
            (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "messages[0].tool_call_id"),
            (#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}]}"#,
             "messages[0].tool_calls[0].function"),
            (#"{"model":"m","messages":["hi"]}"#, "messages[0]"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "temperature"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, "max_tokens"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}"#, "stop"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}"#, "tool_choice"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}"#,
             "tools[0].function.parameters"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}"#, "response_format.type"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":"yes"}}"#,
             "stream_options.include_usage"),
        ]
        for (json, param) in cases {
            let error = try #require(try error(json), "\(json) should be rejected")
            #expect(error.status == .badRequest, "\(json)")
            #expect(error.param == param, "\(json)")
            #expect(error.message.contains(param), "\(json): \(error.message)")
        }
    }

    // MARK: Complete answers

    static let textResponse = ChatResponse(
        id: "chatcmpl-text1", model: "gpt-4o-mini", created: OpenAIFixtures.created,
        output: [.text("Hello! "), .text("How can I help?")], finishReason: .stop, usage: OpenAIFixtures.usage
    )
    static let toolResponse = ChatResponse(
        id: "msg_01Anthropic", model: "claude-alias", created: OpenAIFixtures.created,
        output: [
            .toolCall(ToolCall(id: "call_paris", name: "get_weather", arguments: #"{"city":"Paris"}"#)),
            .toolCall(ToolCall(id: "call_tokyo", name: "get_weather", arguments: #"{"city":"Tokyo"}"#)),
        ],
        finishReason: .toolCalls, usage: Usage(inputTokens: 82, outputTokens: 40)
    )

    @Test func encodesTextAnswer() throws {
        let request = ChatRequest(model: "gpt-4o-mini")
        try GoldenFile.expectJSON(codec.encodeResponse(Self.textResponse, for: request), matches: "openai-chat/ingress-response-text.expected.json")
    }

    @Test func encodesToolCallAnswerWithNullContent() throws {
        let request = ChatRequest(model: "claude-alias")
        try GoldenFile.expectJSON(
            codec.encodeResponse(Self.toolResponse, for: request), matches: "openai-chat/ingress-response-tool-calls.expected.json"
        )
    }

    @Test(arguments: [
        (FinishReason.stop, "stop"), (.length, "length"), (.toolCalls, "tool_calls"), (.contentFilter, "content_filter"),
        (.other("recitation"), "recitation"),
    ])
    func encodesFinishReason(_ reason: FinishReason, _ expected: String) {
        var response = Self.textResponse
        response.finishReason = reason
        let body = codec.encodeResponse(response, for: ChatRequest(model: "m"))
        #expect(body["choices"]?.arrayValue?.first?["finish_reason"] == .string(expected))
    }

    // MARK: Streams

    static let textEvents: [StreamEvent] = [
        .start(id: "chatcmpl-s1", model: "gpt-4o-mini"),
        .textDelta("Hello"), .textDelta(""), .textDelta(" there!"),
        // Usage before finish (Gemini, Anthropic) must still come out after the finish chunk.
        .usage(Usage(inputTokens: 9, outputTokens: 3)),
        .finish(.stop),
    ]

    @Test func streamsTextWithoutUsage() throws {
        let frames = OpenAIFixtures.encode(Self.textEvents, with: codec.makeStreamEncoder(for: ChatRequest(model: "gpt-4o-mini", stream: true)))
        try GoldenFile.expectSSE(frames, matches: "openai-chat/ingress-stream-text.expected.sse")
    }

    @Test func streamsTextWithUsageLast() throws {
        let request = ChatRequest(model: "gpt-4o-mini", stream: true, streamIncludeUsage: true)
        let frames = OpenAIFixtures.encode(Self.textEvents, with: codec.makeStreamEncoder(for: request))
        try GoldenFile.expectSSE(frames, matches: "openai-chat/ingress-stream-text-usage.expected.sse")
    }

    @Test func streamsToolCallsWithSplitArguments() throws {
        let events: [StreamEvent] = [
            .start(id: "chatcmpl-t1", model: "gpt-4o"),
            .toolCallStart(index: 0, id: "call_paris", name: "get_weather"),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"ci"#),
            .toolCallArgumentsDelta(index: 0, fragment: #"ty":"Paris"}"#),
            .toolCallStart(index: 1, id: "call_tokyo", name: "get_weather"),
            .toolCallArgumentsDelta(index: 1, fragment: #"{"city":"Tokyo"}"#),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 82, outputTokens: 40, cachedInputTokens: 64)),
            .usage(Usage(inputTokens: 82, outputTokens: 41, cachedInputTokens: 64)),
        ]
        let request = ChatRequest(model: "gpt-4o", stream: true, streamIncludeUsage: true)
        let frames = OpenAIFixtures.encode(events, with: codec.makeStreamEncoder(for: request))
        try GoldenFile.expectSSE(frames, matches: "openai-chat/ingress-stream-tool-calls.expected.sse")
    }

    @Test func streamFailureEndsWithErrorThenDone() throws {
        let events: [StreamEvent] = [.start(id: "chatcmpl-f1", model: "gpt-4o"), .textDelta("Partial ans")]
        let frames = OpenAIFixtures.encode(
            events, with: codec.makeStreamEncoder(for: ChatRequest(model: "gpt-4o", stream: true)), failure: "upstream connection reset"
        )
        try GoldenFile.expectSSE(frames, matches: "openai-chat/ingress-stream-fail.expected.sse")
    }

    @Test func allChunksShareIdCreatedAndModel() throws {
        let request = ChatRequest(model: "gpt-4o-mini", stream: true, streamIncludeUsage: true)
        let frames = OpenAIFixtures.encode(Self.textEvents, with: codec.makeStreamEncoder(for: request))
        let chunks = try frames.dropLast().map { try JSONText.parse(Array($0.data.utf8)) }
        #expect(frames.last?.data == "[DONE]")
        #expect(Set(chunks.compactMap { $0["id"] }) == [.string("chatcmpl-s1")])
        #expect(Set(chunks.compactMap { $0["created"] }) == [.int(OpenAIFixtures.created)])
        #expect(Set(chunks.compactMap { $0["model"] }) == [.string("gpt-4o-mini")])
    }

    @Test func nothingIsWrittenAfterTheStreamEnds() {
        var encoder = codec.makeStreamEncoder(for: ChatRequest(model: "m", stream: true))
        _ = encoder.encode(.start(id: "x", model: "m"))
        #expect(encoder.finish().last?.data == "[DONE]")
        #expect(encoder.encode(.textDelta("late")).isEmpty)
        #expect(encoder.fail(message: "late").isEmpty)
        #expect(encoder.finish().isEmpty)
    }
}
