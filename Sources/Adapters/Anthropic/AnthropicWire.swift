import Core
import Foundation

/// Pieces of the Anthropic Messages wire format shared by the ingress and provider codecs.
enum AnthropicWire {
    // MARK: Stop reasons

    static func stopReason(_ reason: FinishReason) -> String {
        switch reason {
        // The canonical model does not keep which stop sequence matched, so a stop is always `end_turn`.
        case .stop: "end_turn"
        case .length: "max_tokens"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        case .other(let word): word
        }
    }

    static func finishReason(_ stopReason: String?) -> FinishReason {
        switch stopReason {
        case nil, "end_turn", "stop_sequence": .stop
        case "max_tokens": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        case let word?: .other(word)
        }
    }

    // MARK: Usage

    /// Anthropic's three input counters as they stand so far; message_delta may update any of them.
    struct TokenCounts: Sendable, Equatable {
        var input = 0
        var cacheRead = 0
        var cacheCreation = 0
        var output = 0

        /// Overwrites the counters present in an Anthropic `usage` object (later counts are cumulative).
        mutating func update(from usage: JSONValue?) {
            func count(_ key: String) -> Int? { usage?[key]?.intValue.map { Int($0) } }
            input = count("input_tokens") ?? input
            cacheRead = count("cache_read_input_tokens") ?? cacheRead
            cacheCreation = count("cache_creation_input_tokens") ?? cacheCreation
            output = count("output_tokens") ?? output
        }

        /// Canonical usage counts all input, cached or not: Anthropic's `input_tokens` excludes both cache counters.
        var usage: Usage {
            Usage(inputTokens: input + cacheRead + cacheCreation, outputTokens: output, cachedInputTokens: cacheRead)
        }
    }

    static func usage(from json: JSONValue?) -> Usage {
        var counts = TokenCounts()
        counts.update(from: json)
        return counts.usage
    }

    /// The client-facing counters: `input_tokens` is what was not read from the cache.
    static func inputUsageFields(_ usage: Usage) -> [String: JSONValue] {
        [
            "input_tokens": .int(Int64(max(0, usage.inputTokens - usage.cachedInputTokens))),
            "cache_read_input_tokens": .int(Int64(usage.cachedInputTokens)),
        ]
    }

    static func usageJSON(_ usage: Usage) -> JSONValue {
        var fields = inputUsageFields(usage)
        fields["output_tokens"] = .int(Int64(usage.outputTokens))
        return .object(fields)
    }

    // MARK: Content blocks

    static func textBlock(_ text: String) -> JSONValue {
        .object(["type": .string("text"), "text": .string(text)])
    }

    static func imageBlock(_ image: ImageSource) -> JSONValue {
        let source: JSONValue = switch image {
        case .url(let url):
            .object(["type": .string("url"), "url": .string(url)])
        case .base64(let mediaType, let data):
            .object(["type": .string("base64"), "media_type": .string(mediaType), "data": .string(data)])
        }
        return .object(["type": .string("image"), "source": source])
    }

    static func toolUseBlock(_ call: ToolCall) -> JSONValue {
        .object([
            "type": .string("tool_use"), "id": .string(call.id), "name": .string(call.name),
            "input": jsonObject(fromText: call.arguments),
        ])
    }

    // MARK: Request reading

    static func missing(_ fields: Fields, _ key: String) -> APIError {
        .badRequest("'\(fields.name(key))' is required", param: fields.name(key), code: "missing_field")
    }

    static func requiredObject(_ fields: Fields, _ key: String) throws(APIError) -> Fields {
        guard let object = try fields.objectField(key) else { throw missing(fields, key) }
        return object
    }

    // MARK: Ids, numbers, errors

    static func messageID(_ id: String) -> String {
        id.hasPrefix("msg_") ? id : "msg_" + id
    }

    static func randomMessageID() -> String {
        "msg_" + RandomToken.base62(length: 24)
    }

    /// Integral doubles as JSON integers, so `1.0` reads back as the same value and renders as `1`.
    static func number(_ value: Double) -> JSONValue {
        if value == value.rounded(), abs(value) < 1e15 { return .int(Int64(value)) }
        return .double(value)
    }

    /// The message of an Anthropic error body (`{"type":"error","error":{"type":…,"message":…}}`), if it is one.
    static func errorMessage(_ body: JSONValue) -> String? {
        guard body["type"]?.stringValue == "error" || body["error"].map({ $0 != .null }) == true else { return nil }
        let error = body["error"]
        let kind = error?["type"]?.stringValue
        let message = error?["message"]?.stringValue ?? error?.stringValue ?? "upstream error"
        return kind.map { "\($0): \(message)" } ?? message
    }

    /// A stream frame's JSON data; the provider never sends anything else, so other text is an error.
    static func frameJSON(_ frame: SSEFrame) throws(UpstreamStreamError) -> JSONValue {
        guard let value = try? JSONText.parse(frame.data.utf8), value.objectValue != nil else {
            throw UpstreamStreamError("upstream sent a stream event that is not a JSON object")
        }
        return value
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
