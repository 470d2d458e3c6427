import Core
import Testing
@testable import Adapters

/// Canonical values as JSON, so golden files can hold them on either side of a codec (used by the Anthropic and
/// Gemini tests). Defaults (empty lists, nil, false) are left out to keep the files readable.
enum CanonicalJSONFixture {
    // MARK: Canonical → JSON

    static func json(_ request: ChatRequest) -> JSONValue {
        var o: [String: JSONValue] = ["model": .string(request.model), "messages": .array(request.messages.map(json))]
        if !request.system.isEmpty { o["system"] = .array(request.system.map(JSONValue.string)) }
        if !request.tools.isEmpty {
            o["tools"] = .array(request.tools.map { tool in
                var t: [String: JSONValue] = ["name": .string(tool.name), "parameters": tool.parameters]
                if let description = tool.description { t["description"] = .string(description) }
                return .object(t)
            })
        }
        switch request.toolChoice {
        case .auto?: o["toolChoice"] = .string("auto")
        case .none?: o["toolChoice"] = .string("none")
        case .required?: o["toolChoice"] = .string("required")
        case .named(let name)?: o["toolChoice"] = .object(["named": .string(name)])
        case nil: break
        }
        if let value = request.maxOutputTokens { o["maxOutputTokens"] = .int(Int64(value)) }
        if let value = request.temperature { o["temperature"] = number(value) }
        if let value = request.topP { o["topP"] = number(value) }
        if !request.stopSequences.isEmpty { o["stopSequences"] = .array(request.stopSequences.map(JSONValue.string)) }
        if request.stream { o["stream"] = .bool(true) }
        if request.streamIncludeUsage { o["streamIncludeUsage"] = .bool(true) }
        switch request.responseFormat {
        case .jsonObject?: o["responseFormat"] = .string("jsonObject")
        case .jsonSchema(let name, let schema)?:
            o["responseFormat"] = .object(["jsonSchema": .object(["name": .string(name), "schema": schema])])
        case nil: break
        }
        return .object(o)
    }

    static func json(_ message: ChatMessage) -> JSONValue {
        var o: [String: JSONValue] = ["role": .string(message.role.rawValue)]
        if !message.parts.isEmpty {
            o["parts"] = .array(message.parts.map { part in
                switch part {
                case .text(let text): .object(["text": .string(text)])
                case .image(.url(let url)): .object(["imageURL": .string(url)])
                case .image(.base64(let mediaType, let data)):
                    .object(["imageBase64": .object(["mediaType": .string(mediaType), "data": .string(data)])])
                }
            })
        }
        if !message.toolCalls.isEmpty { o["toolCalls"] = .array(message.toolCalls.map(json)) }
        if let id = message.toolCallId { o["toolCallId"] = .string(id) }
        if let name = message.toolName { o["toolName"] = .string(name) }
        if message.isError { o["isError"] = .bool(true) }
        return .object(o)
    }

    static func json(_ call: ToolCall) -> JSONValue {
        .object(["id": .string(call.id), "name": .string(call.name), "arguments": .string(call.arguments)])
    }

    static func json(_ response: ChatResponse) -> JSONValue {
        .object([
            "id": .string(response.id), "model": .string(response.model), "created": .int(response.created),
            "output": .array(response.output.map { item in
                switch item {
                case .text(let text): .object(["text": .string(text)])
                case .toolCall(let call): .object(["toolCall": json(call)])
                }
            }),
            "finishReason": json(response.finishReason),
            "usage": json(response.usage),
        ])
    }

    static func json(_ reason: FinishReason) -> JSONValue {
        switch reason {
        case .stop: .string("stop")
        case .length: .string("length")
        case .toolCalls: .string("toolCalls")
        case .contentFilter: .string("contentFilter")
        case .other(let word): .object(["other": .string(word)])
        }
    }

    static func json(_ usage: Usage) -> JSONValue {
        .object([
            "input": .int(Int64(usage.inputTokens)), "output": .int(Int64(usage.outputTokens)),
            "cached": .int(Int64(usage.cachedInputTokens)), "reasoning": .int(Int64(usage.reasoningTokens)),
        ])
    }

    static func json(_ events: [StreamEvent]) -> JSONValue {
        .array(events.map { event in
            switch event {
            case .start(let id, let model): .object(["start": .object(["id": .string(id), "model": .string(model)])])
            case .textDelta(let text): .object(["text": .string(text)])
            case .toolCallStart(let index, let id, let name):
                .object(["toolCallStart": .object(["index": .int(Int64(index)), "id": .string(id), "name": .string(name)])])
            case .toolCallArgumentsDelta(let index, let fragment):
                .object(["toolCallArguments": .object(["index": .int(Int64(index)), "fragment": .string(fragment)])])
            case .finish(let reason): .object(["finish": json(reason)])
            case .usage(let usage): .object(["usage": json(usage)])
            }
        })
    }

    // MARK: JSON → canonical

    static func request(_ json: JSONValue) throws -> ChatRequest {
        var request = ChatRequest(model: try string(json, "model"))
        request.system = try (json["system"]?.arrayValue ?? []).map { try string($0) }
        request.messages = try (json["messages"]?.arrayValue ?? []).map(message)
        request.tools = try (json["tools"]?.arrayValue ?? []).map { tool in
            ToolDefinition(name: try string(tool, "name"), description: tool["description"]?.stringValue, parameters: tool["parameters"] ?? .null)
        }
        if let choice = json["toolChoice"] {
            switch choice.stringValue {
            case "auto": request.toolChoice = .auto
            case "none": request.toolChoice = ToolChoice.none
            case "required": request.toolChoice = .required
            default: request.toolChoice = .named(try string(choice, "named"))
            }
        }
        request.maxOutputTokens = json["maxOutputTokens"]?.intValue.map { Int($0) }
        request.temperature = json["temperature"].flatMap(double)
        request.topP = json["topP"].flatMap(double)
        request.stopSequences = try (json["stopSequences"]?.arrayValue ?? []).map { try string($0) }
        request.stream = json["stream"]?.boolValue ?? false
        request.streamIncludeUsage = json["streamIncludeUsage"]?.boolValue ?? false
        if let format = json["responseFormat"] {
            if format.stringValue == "jsonObject" {
                request.responseFormat = .jsonObject
            } else {
                let schema = format["jsonSchema"] ?? .null
                request.responseFormat = .jsonSchema(name: try string(schema, "name"), schema: schema["schema"] ?? .null)
            }
        }
        return request
    }

    static func message(_ json: JSONValue) throws -> ChatMessage {
        guard let role = Role(rawValue: try string(json, "role")) else { throw GoldenError("unknown role in \(json)") }
        let parts = try (json["parts"]?.arrayValue ?? []).map { part -> ContentPart in
            if let text = part["text"]?.stringValue { return .text(text) }
            if let url = part["imageURL"]?.stringValue { return .image(.url(url)) }
            if let image = part["imageBase64"] {
                return .image(.base64(mediaType: try string(image, "mediaType"), data: try string(image, "data")))
            }
            throw GoldenError("unknown part \(part)")
        }
        return ChatMessage(
            role: role, parts: parts, toolCalls: try (json["toolCalls"]?.arrayValue ?? []).map(toolCall),
            toolCallId: json["toolCallId"]?.stringValue, toolName: json["toolName"]?.stringValue,
            isError: json["isError"]?.boolValue ?? false
        )
    }

    static func toolCall(_ json: JSONValue) throws -> ToolCall {
        ToolCall(id: try string(json, "id"), name: try string(json, "name"), arguments: try string(json, "arguments"))
    }

    static func response(_ json: JSONValue) throws -> ChatResponse {
        ChatResponse(
            id: try string(json, "id"), model: try string(json, "model"), created: json["created"]?.intValue ?? 0,
            output: try (json["output"]?.arrayValue ?? []).map { item -> OutputItem in
                if let text = item["text"]?.stringValue { return .text(text) }
                return .toolCall(try toolCall(item["toolCall"] ?? .null))
            },
            finishReason: try finishReason(json["finishReason"] ?? .null),
            usage: usage(json["usage"] ?? .null)
        )
    }

    static func finishReason(_ json: JSONValue) throws -> FinishReason {
        switch json.stringValue {
        case "stop": .stop
        case "length": .length
        case "toolCalls": .toolCalls
        case "contentFilter": .contentFilter
        default: .other(try string(json, "other"))
        }
    }

    static func usage(_ json: JSONValue) -> Usage {
        func count(_ key: String) -> Int { json[key]?.intValue.map { Int($0) } ?? 0 }
        return Usage(inputTokens: count("input"), outputTokens: count("output"), cachedInputTokens: count("cached"), reasoningTokens: count("reasoning"))
    }

    static func events(_ json: JSONValue) throws -> [StreamEvent] {
        try (json.arrayValue ?? []).map { event -> StreamEvent in
            if let start = event["start"] { return .start(id: try string(start, "id"), model: try string(start, "model")) }
            if let text = event["text"]?.stringValue { return .textDelta(text) }
            if let call = event["toolCallStart"] {
                return .toolCallStart(index: try int(call, "index"), id: try string(call, "id"), name: try string(call, "name"))
            }
            if let arguments = event["toolCallArguments"] {
                return .toolCallArgumentsDelta(index: try int(arguments, "index"), fragment: try string(arguments, "fragment"))
            }
            if let reason = event["finish"] { return .finish(try finishReason(reason)) }
            if let counts = event["usage"] { return .usage(usage(counts)) }
            throw GoldenError("unknown stream event \(event)")
        }
    }

    // MARK: Driving stream codecs

    /// Feeds `{"events": [...], "end": "finish" | {"fail": "message"}}` to an encoder.
    static func encodeStream(_ encoder: any StreamEncoder, input: JSONValue) throws -> [SSEFrame] {
        var encoder = encoder
        var frames: [SSEFrame] = []
        for event in try events(input["events"] ?? .null) { frames += encoder.encode(event) }
        if let message = input["end"]?["fail"]?.stringValue {
            frames += encoder.fail(message: message)
        } else {
            frames += encoder.finish()
        }
        return frames
    }

    /// Feeds frames to a decoder: `{"events": [...], "isComplete": Bool}`, plus `"error"` when the decoder threw.
    static func decodeStream(_ decoder: any StreamDecoder, frames: [SSEFrame]) -> JSONValue {
        var decoder = decoder
        var events: [StreamEvent] = []
        var result: [String: JSONValue] = [:]
        do {
            for frame in frames { events += try decoder.decode(frame) }
        } catch {
            result["error"] = .string(error.message)
        }
        result["events"] = json(events)
        result["isComplete"] = .bool(decoder.isComplete)
        return .object(result)
    }

    // MARK: Helpers

    static func number(_ value: Double) -> JSONValue {
        value == value.rounded() && abs(value) < 1e15 ? .int(Int64(value)) : .double(value)
    }

    private static func double(_ json: JSONValue) -> Double? {
        switch json {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    private static func string(_ json: JSONValue, _ key: String? = nil) throws -> String {
        let value = key.map { json[$0] } ?? json
        guard let text = value?.stringValue else { throw GoldenError("expected a string at \(key ?? "value") in \(json)") }
        return text
    }

    private static func int(_ json: JSONValue, _ key: String) throws -> Int {
        guard let value = json[key]?.intValue else { throw GoldenError("expected an integer at \(key) in \(json)") }
        return Int(value)
    }
}
