import Core
import Foundation

/// Wall-clock Unix seconds for `created` fields; tests pass a fixed one so golden files are stable.
public struct OpenAIClock: Sendable {
    public let now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    public static let system = OpenAIClock { Int64(Date().timeIntervalSince1970) }

    public static func fixed(_ seconds: Int64) -> OpenAIClock {
        OpenAIClock { seconds }
    }
}

/// Pieces of the OpenAI wire formats shared by the Chat Completions and Responses codecs.
enum OpenAIWire {
    // MARK: Finish reasons

    static func finishReasonText(_ reason: FinishReason) -> String {
        switch reason {
        case .stop: "stop"
        case .length: "length"
        case .toolCalls: "tool_calls"
        case .contentFilter: "content_filter"
        case .other(let word): word
        }
    }

    static func finishReason(fromText text: String) -> FinishReason {
        switch text {
        case "stop": .stop
        case "length": .length
        // `function_call` is the legacy spelling some compatible servers still send.
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .other(text)
        }
    }

    // MARK: Usage

    static func chatUsage(_ usage: Usage) -> JSONValue {
        .object([
            "prompt_tokens": .int(Int64(usage.inputTokens)),
            "completion_tokens": .int(Int64(usage.outputTokens)),
            "total_tokens": .int(Int64(usage.totalTokens)),
            "prompt_tokens_details": .object(["cached_tokens": .int(Int64(usage.cachedInputTokens))]),
            "completion_tokens_details": .object(["reasoning_tokens": .int(Int64(usage.reasoningTokens))]),
        ])
    }

    /// Reads a Chat Completions `usage` object; absent numbers count as 0.
    static func usage(fromChat json: JSONValue) -> Usage {
        func count(_ value: JSONValue?) -> Int { value?.intValue.map { Int($0) } ?? 0 }
        return Usage(
            inputTokens: count(json["prompt_tokens"]),
            outputTokens: count(json["completion_tokens"]),
            cachedInputTokens: count(json["prompt_tokens_details"]?["cached_tokens"]),
            reasoningTokens: count(json["completion_tokens_details"]?["reasoning_tokens"])
        )
    }

    static func responsesUsage(_ usage: Usage) -> JSONValue {
        .object([
            "input_tokens": .int(Int64(usage.inputTokens)),
            "output_tokens": .int(Int64(usage.outputTokens)),
            "total_tokens": .int(Int64(usage.totalTokens)),
            "input_tokens_details": .object(["cached_tokens": .int(Int64(usage.cachedInputTokens))]),
            "output_tokens_details": .object(["reasoning_tokens": .int(Int64(usage.reasoningTokens))]),
        ])
    }

    // MARK: Ids and small values

    /// Gives an upstream id the prefix clients of this format expect (`chatcmpl-`, `resp_`) unless it has it.
    static func prefixed(_ id: String, _ prefix: String) -> String {
        id.hasPrefix(prefix) ? id : prefix + id
    }

    /// An id for streams whose upstream never said one (a decoder always should; this keeps output well-formed).
    static func randomID(_ prefix: String) -> String {
        prefix + RandomToken.base62(length: 24)
    }

    static func optional(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
    static func optional(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
    static func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    /// Function tools without `parameters` take no arguments; canonical definitions always carry a schema.
    static let emptyParametersSchema: JSONValue = .object(["type": .string("object"), "properties": .object([:])])

    /// The message an upstream `error` field carries (an object with `message`, or a bare string).
    static func errorMessage(_ error: JSONValue) -> String {
        if let text = error.stringValue { return text }
        if let text = error["message"]?.stringValue, !text.isEmpty { return text }
        return "upstream error: \(JSONText.render(error))"
    }

    // MARK: Request reading

    static func missing(_ fields: Fields, _ key: String) -> APIError {
        .badRequest("'\(fields.name(key))' is required", param: fields.name(key), code: "missing_field")
    }

    static func requiredObject(_ fields: Fields, _ key: String) throws(APIError) -> Fields {
        guard let object = try fields.objectField(key) else { throw missing(fields, key) }
        return object
    }

    static func requiredArray(_ fields: Fields, _ key: String) throws(APIError) -> [JSONValue] {
        guard let array = try fields.array(key) else { throw missing(fields, key) }
        return array
    }

    /// `tool_choice`: "auto" | "none" | "required", or an object of type "function" whose name `readName` reads
    /// (chat nests it under `function`, Responses does not). `otherType` words the refusal of any other type.
    static func toolChoice(
        _ body: Fields, otherType: (String) -> String, readName: (Fields) throws(APIError) -> String
    ) throws(APIError) -> ToolChoice? {
        guard let value = body.object["tool_choice"], value != .null else { return nil }
        if let word = value.stringValue {
            switch word {
            case "auto": return .auto
            case "none": return ToolChoice.none
            case "required": return .required
            default: throw body.invalid("tool_choice", "must be 'auto', 'none', 'required' or a function choice; got '\(word)'")
            }
        }
        guard value.objectValue != nil, let choice = try body.objectField("tool_choice") else {
            throw body.typeError("tool_choice", "a string or an object", value)
        }
        let type = try choice.requiredString("type")
        guard type == "function" else { throw choice.invalid("type", otherType(type)) }
        return .named(try readName(choice))
    }

    /// A tool's JSON Schema: must be an object when present.
    static func parameters(_ fields: Fields) throws(APIError) -> JSONValue {
        guard let schema = try fields.objectField("parameters") else { return emptyParametersSchema }
        return .object(schema.object)
    }

    /// An image reference: http(s) URLs are fetched by the provider, `data:` URLs carry the bytes.
    static func image(url: String, _ fields: Fields, _ key: String) throws(APIError) -> ImageSource {
        let lowered = url.lowercased()
        guard lowered.hasPrefix("https://") || lowered.hasPrefix("http://") || lowered.hasPrefix("data:") else {
            throw fields.invalid(key, "must be an http(s) URL or a data: URL")
        }
        return ImageSource.fromURL(url)
    }
}
