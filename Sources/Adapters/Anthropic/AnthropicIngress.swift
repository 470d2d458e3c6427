import Core

/// The client format of `POST /v1/messages` (Anthropic Messages API).
public struct AnthropicIngress: IngressCodec {
    public init() {}

    public func decodeRequest(_ body: [String: JSONValue], model: String?, stream: Bool?) throws(APIError) -> ChatRequest {
        let fields = Fields(body)
        guard let modelName = try fields.string("model") ?? model else { throw AnthropicWire.missing(fields, "model") }
        guard !modelName.isEmpty else { throw fields.invalid("model", "must not be empty") }
        // Anthropic requires max_tokens; accepting requests without it would hide a client bug until it hit Anthropic.
        guard let maxTokens = try Self.outputCap(fields) else { throw AnthropicWire.missing(fields, "max_tokens") }
        guard maxTokens >= 1 else { throw fields.invalid("max_tokens", "must be at least 1") }
        guard let items = try fields.array("messages") else { throw AnthropicWire.missing(fields, "messages") }

        var request = ChatRequest(model: modelName)
        request.maxOutputTokens = maxTokens
        request.messages = try AnthropicMessageReader.messages(items, in: fields)
        request.system = try system(fields)
        request.tools = try tools(fields)
        request.toolChoice = try toolChoice(fields)
        request.stopSequences = try fields.stringOrStrings("stop_sequences")
        request.temperature = try fields.double("temperature")
        request.topP = try fields.double("top_p")
        request.stream = try fields.bool("stream") ?? stream ?? false
        return request
    }

    public func maxOutputTokens(_ body: JSONObjectBytes) throws(APIError) -> Int? {
        try Self.outputCap(Fields(body.members(["max_tokens"])))
    }

    private static func outputCap(_ fields: Fields) throws(APIError) -> Int? {
        try fields.int("max_tokens")
    }

    public func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue {
        var content: [JSONValue] = []
        for item in response.output {
            switch item {
            // Anthropic never sends empty text blocks and rejects them when a client sends them back.
            case .text(let text) where text.isEmpty: continue
            case .text(let text): content.append(AnthropicWire.textBlock(text))
            case .toolCall(let call): content.append(AnthropicWire.toolUseBlock(call))
            }
        }
        return .object([
            "id": .string(AnthropicWire.messageID(response.id)),
            "type": .string("message"),
            "role": .string("assistant"),
            "model": .string(response.model),
            "content": .array(content),
            "stop_reason": .string(AnthropicWire.stopReason(response.finishReason)),
            "stop_sequence": .null,
            "usage": AnthropicWire.usageJSON(response.usage),
        ])
    }

    public func makeStreamEncoder(for request: ChatRequest) -> any StreamEncoder {
        AnthropicStreamEncoder(model: request.model)
    }

    /// `system`: a string, or an array of text blocks (each block one canonical system entry).
    private func system(_ fields: Fields) throws(APIError) -> [String] {
        guard let value = fields.object["system"], value != .null else { return [] }
        if let text = value.stringValue { return text.isEmpty ? [] : [text] }
        guard let items = value.arrayValue else { throw fields.typeError("system", "a string or an array of text blocks", value) }
        var system: [String] = []
        for (index, item) in items.enumerated() {
            let block = try fields.element(item, of: "system", at: index)
            let type = try block.requiredString("type")
            guard type == "text" else { throw block.invalid("type", "must be 'text', got '\(type)'") }
            let text = try block.requiredString("text")
            if !text.isEmpty { system.append(text) }
        }
        return system
    }

    private func tools(_ fields: Fields) throws(APIError) -> [ToolDefinition] {
        var tools: [ToolDefinition] = []
        for (index, item) in (try fields.array("tools") ?? []).enumerated() {
            let tool = try fields.element(item, of: "tools", at: index)
            // Server tools (web search, code execution…) run inside Anthropic; other providers cannot honour them.
            if let type = try tool.string("type"), type != "custom" {
                throw tool.invalid("type", "tool type '\(type)' is not supported by this gateway; only custom tools are")
            }
            tools.append(ToolDefinition(
                name: try tool.requiredString("name"),
                description: try tool.string("description"),
                parameters: .object(try AnthropicWire.requiredObject(tool, "input_schema").object)
            ))
        }
        return tools
    }

    private func toolChoice(_ fields: Fields) throws(APIError) -> ToolChoice? {
        guard let choice = try fields.objectField("tool_choice") else { return nil }
        switch try choice.requiredString("type") {
        case "auto": return .auto
        case "any": return .required
        case "none": return ToolChoice.none
        case "tool": return .named(try choice.requiredString("name"))
        case let other: throw choice.invalid("type", "must be 'auto', 'any', 'none' or 'tool', got '\(other)'")
        }
    }
}
