import Core
import Foundation

/// Pieces of the Gemini `generateContent` wire format shared by the ingress and provider codecs.
enum GeminiWire {
    // MARK: Finish reasons

    static func finishReasonName(_ reason: FinishReason) -> String {
        switch reason {
        // Gemini reports STOP when it stops to call functions; there is no separate reason.
        case .stop, .toolCalls: "STOP"
        case .length: "MAX_TOKENS"
        case .contentFilter: "SAFETY"
        case .other: "OTHER"
        }
    }

    static func finishReason(_ name: String?, sawFunctionCalls: Bool) -> FinishReason {
        switch name {
        case nil, "STOP": sawFunctionCalls ? .toolCalls : .stop
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": .contentFilter
        case let other?: .other(other)
        }
    }

    // MARK: Usage

    /// Canonical usage from `usageMetadata`: Gemini counts thinking apart from `candidatesTokenCount`.
    static func usage(from metadata: JSONValue) -> Usage {
        func count(_ key: String) -> Int { metadata[key]?.intValue.map { Int($0) } ?? 0 }
        let thoughts = count("thoughtsTokenCount")
        return Usage(
            inputTokens: count("promptTokenCount"),
            outputTokens: count("candidatesTokenCount") + thoughts,
            cachedInputTokens: count("cachedContentTokenCount"),
            reasoningTokens: thoughts
        )
    }

    static func usageMetadata(_ usage: Usage) -> JSONValue {
        var fields: [String: JSONValue] = [
            "promptTokenCount": .int(Int64(usage.inputTokens)),
            "candidatesTokenCount": .int(Int64(max(0, usage.outputTokens - usage.reasoningTokens))),
            "totalTokenCount": .int(Int64(usage.totalTokens)),
        ]
        if usage.cachedInputTokens > 0 { fields["cachedContentTokenCount"] = .int(Int64(usage.cachedInputTokens)) }
        if usage.reasoningTokens > 0 { fields["thoughtsTokenCount"] = .int(Int64(usage.reasoningTokens)) }
        return .object(fields)
    }

    // MARK: Parts

    static func textPart(_ text: String) -> JSONValue { .object(["text": .string(text)]) }

    static func functionCallPart(name: String, arguments: String) -> JSONValue {
        .object(["functionCall": .object(["name": .string(name), "args": jsonObject(fromText: arguments)])])
    }

    /// Gemini function calls carry no ids; the n-th call of a request or answer is `call_<n>`.
    static func callID(_ index: Int) -> String { "call_\(index)" }

    // MARK: Schemas

    private static let openAPITypes: Set<String> = ["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"]

    /// Gemini `parameters`/`responseSchema` use OpenAPI's upper-case type names (`"OBJECT"`); canonical schemas are
    /// JSON Schema, which other providers validate strictly, so the names are lower-cased and Gemini's own
    /// `propertyOrdering` keyword is dropped.
    static func jsonSchema(fromOpenAPI schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let object):
            var out: [String: JSONValue] = [:]
            for (key, value) in object where key != "propertyOrdering" || value.arrayValue == nil {
                if key == "type", let name = value.stringValue, openAPITypes.contains(name) {
                    out[key] = .string(name.lowercased())
                } else {
                    out[key] = jsonSchema(fromOpenAPI: value)
                }
            }
            return .object(out)
        case .array(let items):
            return .array(items.map(jsonSchema(fromOpenAPI:)))
        default:
            return schema
        }
    }

    // MARK: Request reading

    /// The key a client used for a field: Google's JSON parser accepts both `inlineData` and `inline_data`, and the
    /// REST examples use the snake_case spelling. Errors then name what the client wrote.
    static func key(_ fields: Fields, _ camelCase: String) -> String {
        if fields.object[camelCase] != nil { return camelCase }
        var snake = ""
        for character in camelCase {
            if character.isUppercase { snake += "_" + character.lowercased() } else { snake.append(character) }
        }
        return fields.object[snake] != nil ? snake : camelCase
    }

    static func missing(_ fields: Fields, _ key: String) -> APIError {
        .badRequest("'\(fields.name(key))' is required", param: fields.name(key), code: "missing_field")
    }

    // MARK: Ids, numbers, errors

    static func randomResponseID() -> String { RandomToken.base62(length: 24) }

    /// Integral doubles as JSON integers, so `1.0` reads back as the same value and renders as `1`.
    static func number(_ value: Double) -> JSONValue {
        if value == value.rounded(), abs(value) < 1e15 { return .int(Int64(value)) }
        return .double(value)
    }

    /// The message of a Google error body (`{"error":{"code":…,"message":…,"status":…}}`), if it is one.
    static func errorMessage(_ body: JSONValue) -> String? {
        guard let error = body["error"], error != .null else { return nil }
        let message = error["message"]?.stringValue ?? error.stringValue ?? "upstream error"
        return error["status"]?.stringValue.map { "\($0): \(message)" } ?? message
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
