@testable import Adapters
import Core
import Testing

/// JSON renderings of canonical values so decoders can be checked against readable golden files.
enum OpenAICanonicalDump {
    static func request(_ request: ChatRequest) -> JSONValue {
        .object([
            "model": .string(request.model),
            "system": .array(request.system.map { .string($0) }),
            "messages": .array(request.messages.map(message)),
            "tools": .array(request.tools.map { tool in
                .object([
                    "name": .string(tool.name),
                    "description": tool.description.map { .string($0) } ?? .null,
                    "parameters": tool.parameters,
                ])
            }),
            "tool_choice": request.toolChoice.map(toolChoice) ?? .null,
            "max_output_tokens": request.maxOutputTokens.map { .int(Int64($0)) } ?? .null,
            "temperature": request.temperature.map { .double($0) } ?? .null,
            "top_p": request.topP.map { .double($0) } ?? .null,
            "stop_sequences": .array(request.stopSequences.map { .string($0) }),
            "stream": .bool(request.stream),
            "stream_include_usage": .bool(request.streamIncludeUsage),
            "response_format": request.responseFormat.map(responseFormat) ?? .null,
        ])
    }

    static func message(_ message: ChatMessage) -> JSONValue {
        var fields: [String: JSONValue] = ["role": .string(message.role.rawValue), "parts": .array(message.parts.map(part))]
        if !message.toolCalls.isEmpty { fields["tool_calls"] = .array(message.toolCalls.map(toolCall)) }
        if let id = message.toolCallId { fields["tool_call_id"] = .string(id) }
        if let name = message.toolName { fields["tool_name"] = .string(name) }
        if message.isError { fields["is_error"] = .bool(true) }
        return .object(fields)
    }

    static func part(_ part: ContentPart) -> JSONValue {
        switch part {
        case .text(let text): .object(["text": .string(text)])
        case .image(.url(let url)): .object(["image_url": .string(url)])
        case .image(.base64(let mediaType, let data)):
            .object(["image_base64": .object(["media_type": .string(mediaType), "data": .string(data)])])
        }
    }

    static func toolCall(_ call: ToolCall) -> JSONValue {
        .object(["id": .string(call.id), "name": .string(call.name), "arguments": .string(call.arguments)])
    }

    static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: .string("auto")
        case .none: .string("none")
        case .required: .string("required")
        case .named(let name): .object(["named": .string(name)])
        }
    }

    static func responseFormat(_ format: ResponseFormat) -> JSONValue {
        switch format {
        case .jsonObject: .string("json_object")
        case .jsonSchema(let name, let schema): .object(["json_schema": .object(["name": .string(name), "schema": schema])])
        }
    }

    static func response(_ response: ChatResponse) -> JSONValue {
        .object([
            "id": .string(response.id),
            "model": .string(response.model),
            "created": .int(response.created),
            "output": .array(response.output.map { item in
                switch item {
                case .text(let text): .object(["text": .string(text)])
                case .toolCall(let call): .object(["tool_call": toolCall(call)])
                }
            }),
            "finish_reason": .string(finishReason(response.finishReason)),
            "usage": usage(response.usage),
        ])
    }

    static func finishReason(_ reason: FinishReason) -> String {
        if case .other(let word) = reason { return "other:\(word)" }
        return OpenAIWire.finishReasonText(reason)
    }

    static func usage(_ usage: Usage) -> JSONValue {
        .object([
            "input": .int(Int64(usage.inputTokens)),
            "output": .int(Int64(usage.outputTokens)),
            "cached_input": .int(Int64(usage.cachedInputTokens)),
            "reasoning": .int(Int64(usage.reasoningTokens)),
        ])
    }

    static func events(_ events: [StreamEvent]) -> JSONValue {
        .array(events.map { event in
            switch event {
            case .start(let id, let model): .object(["start": .object(["id": .string(id), "model": .string(model)])])
            case .textDelta(let text): .object(["text_delta": .string(text)])
            case .toolCallStart(let index, let id, let name):
                .object(["tool_call_start": .object(["index": .int(Int64(index)), "id": .string(id), "name": .string(name)])])
            case .toolCallArgumentsDelta(let index, let fragment):
                .object(["tool_call_arguments_delta": .object(["index": .int(Int64(index)), "fragment": .string(fragment)])])
            case .finish(let reason): .object(["finish": .string(finishReason(reason))])
            case .usage(let value): .object(["usage": usage(value)])
            }
        })
    }
}

/// Shared fixtures for the OpenAI and Responses adapter tests.
enum OpenAIFixtures {
    static let created: Int64 = 1_733_000_000
    static let clock = OpenAIClock.fixed(created)

    /// Runs stream events through an encoder and closes it the way the engine does.
    static func encode(_ events: [StreamEvent], with encoder: any StreamEncoder, failure: String? = nil) -> [SSEFrame] {
        var encoder = encoder
        var frames = events.flatMap { encoder.encode($0) }
        frames += failure.map { encoder.fail(message: $0) } ?? encoder.finish()
        return frames
    }

    /// Feeds frames to a decoder, collecting events until the first error.
    static func decode(_ frames: [SSEFrame], with decoder: any StreamDecoder) throws(UpstreamStreamError) -> (events: [StreamEvent], complete: Bool) {
        var decoder = decoder
        var events: [StreamEvent] = []
        for frame in frames { events += try decoder.decode(frame) }
        return (events, decoder.isComplete)
    }

    /// The 400 a decode throws, or nil when it succeeds.
    static func badRequest(_ decode: () throws(APIError) -> ChatRequest) -> APIError? {
        do {
            _ = try decode()
            return nil
        } catch {
            return error
        }
    }

    static let usage = Usage(inputTokens: 1200, outputTokens: 350, cachedInputTokens: 1024, reasoningTokens: 128)
}
