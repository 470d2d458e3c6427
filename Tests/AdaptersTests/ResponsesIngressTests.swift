@testable import Adapters
import Core
import Testing

@Suite struct ResponsesIngressTests {
    let codec = ResponsesIngress(clock: OpenAIFixtures.clock)

    // MARK: Requests

    @Test(arguments: ["request-input-array", "request-string-input"])
    func decodesClientRequest(_ name: String) throws {
        let request = try codec.decodeRequest(try GoldenFile.object("responses/\(name).input.json"), model: nil, stream: nil)
        try GoldenFile.expectJSON(OpenAICanonicalDump.request(request), matches: "responses/\(name).expected.json")
    }

    /// A Responses request reaches a chat-only upstream and comes back as the same canonical request.
    @Test func requestSurvivesChatProviderEncoding() throws {
        let original = try codec.decodeRequest(try GoldenFile.object("responses/request-input-array.input.json"), model: nil, stream: nil)
        guard case .object(let body) = OpenAIChatProvider().encodeRequest(original, upstreamModel: original.model) else {
            Issue.record("provider body is not an object")
            return
        }
        var again = try OpenAIChatIngress().decodeRequest(body, model: nil, stream: nil)
        again.streamIncludeUsage = original.streamIncludeUsage
        #expect(again == original)
    }

    private func error(_ json: String) throws -> APIError? {
        guard case .object(let body) = try JSONText.parse(Array(json.utf8)) else { throw GoldenError("not an object") }
        return OpenAIFixtures.badRequest { () throws(APIError) in try codec.decodeRequest(body, model: nil, stream: nil) }
    }

    @Test func hostedToolsNeedNativeSupport() throws {
        let error = try #require(try error(#"{"model":"m","input":"hi","tools":[{"type":"web_search"}]}"#))
        #expect(error.status == .badRequest)
        #expect(error.param == "tools[0].type")
        #expect(error.message.contains("web_search"))
        #expect(error.message.contains("native Responses support"))
    }

    @Test func invalidRequestsNameTheField() throws {
        let cases: [(String, String)] = [
            (#"{"input":"hi"}"#, "model"),
            (#"{"model":"m"}"#, "input"),
            (#"{"model":"m","input":42}"#, "input"),
            (#"{"model":"m","input":[]}"#, "input"),
            (#"{"model":"m","input":[{"role":"narrator","content":"x"}]}"#, "input[0].role"),
            (#"{"model":"m","input":[{"role":"user","content":7}]}"#, "input[0].content"),
            (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}"#, "input[0].content[0].type"),
            (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}"#, "input[0].content[0].file_id"),
            (#"{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}"#, "input[0].call_id"),
            (#"{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}"#, "input[0].output"),
            (#"{"model":"m","input":[{"type":"web_search_call","id":"ws"}]}"#, "input[0].type"),
            (#"{"model":"m","input":"hi","previous_response_id":"resp_1"}"#, "previous_response_id"),
            (#"{"model":"m","input":"hi","tool_choice":{"type":"file_search"}}"#, "tool_choice.type"),
            (#"{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}"#, "text.format.name"),
            (#"{"model":"m","input":"hi","max_output_tokens":"many"}"#, "max_output_tokens"),
        ]
        for (json, param) in cases {
            let error = try #require(try error(json), "\(json) should be rejected")
            #expect(error.status == .badRequest, "\(json)")
            #expect(error.param == param, "\(json)")
        }
    }

    // MARK: Complete answers

    static let request = ChatRequest(
        model: "gpt-4.1", system: ["You are a weather bot."],
        tools: [ToolDefinition(name: "get_weather", description: "Weather for a city.", parameters: OpenAIWire.emptyParametersSchema)],
        maxOutputTokens: 400, temperature: 0.4
    )

    @Test func encodesTextAndFunctionCall() throws {
        let response = ChatResponse(
            id: "chatcmpl-r1", model: "gpt-4.1", created: OpenAIFixtures.created,
            output: [.text("Let me check "), .text("the weather."), .toolCall(ToolCall(id: "call_paris", name: "get_weather", arguments: #"{"city":"Paris"}"#))],
            finishReason: .toolCalls, usage: OpenAIFixtures.usage
        )
        try GoldenFile.expectJSON(codec.encodeResponse(response, for: Self.request), matches: "responses/response-text-and-call.expected.json")
    }

    @Test func lengthEndsIncomplete() throws {
        let response = ChatResponse(
            id: "resp_len", model: "gpt-4.1", created: OpenAIFixtures.created, output: [.text("Once upon a")],
            finishReason: .length, usage: Usage(inputTokens: 10, outputTokens: 400)
        )
        try GoldenFile.expectJSON(codec.encodeResponse(response, for: Self.request), matches: "responses/response-incomplete.expected.json")
    }

    // MARK: Streams

    static let streamEvents: [StreamEvent] = [
        .start(id: "chatcmpl-s1", model: "gpt-4.1"),
        .textDelta("Checking "), .textDelta("the weather."),
        .toolCallStart(index: 0, id: "call_paris", name: "get_weather"),
        .toolCallArgumentsDelta(index: 0, fragment: #"{"city":"#),
        .toolCallArgumentsDelta(index: 0, fragment: #""Paris"}"#),
        .toolCallStart(index: 1, id: "call_lyon", name: "get_weather"),
        .toolCallArgumentsDelta(index: 1, fragment: #"{"city":"Lyon"}"#),
        .finish(.toolCalls),
        .usage(OpenAIFixtures.usage),
    ]

    @Test func streamsFullEventSequence() throws {
        let frames = OpenAIFixtures.encode(Self.streamEvents, with: codec.makeStreamEncoder(for: Self.request))
        try GoldenFile.expectSSE(frames, matches: "responses/stream-text-and-calls.expected.sse")
        try expectWellFormed(frames)
        #expect(frames.last?.event == "response.completed")
    }

    /// The stream's final response object is the one a non-streamed request would have received.
    @Test func streamEndsWithTheCompleteResponse() throws {
        let frames = OpenAIFixtures.encode(Self.streamEvents, with: codec.makeStreamEncoder(for: Self.request))
        let last = try JSONText.parse(Array(try #require(frames.last).data.utf8))
        let complete = ChatResponse(
            id: "chatcmpl-s1", model: "gpt-4.1", created: OpenAIFixtures.created,
            output: [
                .text("Checking the weather."),
                .toolCall(ToolCall(id: "call_paris", name: "get_weather", arguments: #"{"city":"Paris"}"#)),
                .toolCall(ToolCall(id: "call_lyon", name: "get_weather", arguments: #"{"city":"Lyon"}"#)),
            ],
            finishReason: .toolCalls, usage: OpenAIFixtures.usage
        )
        #expect(last["response"] == codec.encodeResponse(complete, for: Self.request))
    }

    @Test func streamHittingLengthEndsIncomplete() throws {
        let events: [StreamEvent] = [
            .start(id: "chatcmpl-s2", model: "gpt-4.1"), .usage(Usage(inputTokens: 10, outputTokens: 1)),
            .textDelta("Once upon"), .finish(.length), .usage(Usage(inputTokens: 10, outputTokens: 400)),
        ]
        let frames = OpenAIFixtures.encode(events, with: codec.makeStreamEncoder(for: Self.request))
        try GoldenFile.expectSSE(frames, matches: "responses/stream-incomplete.expected.sse")
        try expectWellFormed(frames)
    }

    @Test func streamFailureClosesOpenItemsAndFails() throws {
        let events: [StreamEvent] = [
            .start(id: "chatcmpl-s3", model: "gpt-4.1"), .textDelta("Partial"),
            .toolCallStart(index: 0, id: "call_x", name: "get_weather"), .toolCallArgumentsDelta(index: 0, fragment: #"{"ci"#),
        ]
        let frames = OpenAIFixtures.encode(events, with: codec.makeStreamEncoder(for: Self.request), failure: "upstream connection reset")
        try GoldenFile.expectSSE(frames, matches: "responses/stream-failed.expected.sse")
        try expectWellFormed(frames)
        #expect(!frames.contains { $0.data == "[DONE]" })
    }

    /// Every frame names its event, repeats it as `type`, and numbers itself one after the previous.
    private func expectWellFormed(_ frames: [SSEFrame]) throws {
        for (index, frame) in frames.enumerated() {
            let data = try JSONText.parse(Array(frame.data.utf8))
            #expect(frame.event != nil)
            #expect(data["type"]?.stringValue == frame.event)
            #expect(data["sequence_number"] == .int(Int64(index)))
        }
        #expect(frames.first?.event == "response.created")
    }
}
