import Core

/// The client format of `POST /v1/chat/completions` (OpenAI Chat Completions).
public struct OpenAIChatIngress: IngressCodec {
    private let clock: OpenAIClock

    public init(clock: OpenAIClock = .system) {
        self.clock = clock
    }

    public func decodeRequest(_ body: [String: JSONValue], model: String?, stream: Bool?) throws(APIError) -> ChatRequest {
        let fields = Fields(body)
        let modelName: String
        if let model { modelName = model } else { modelName = try fields.requiredString("model") }
        var reader = OpenAIChatMessageReader()
        try reader.read(fields)
        let bodyStream = try fields.bool("stream")
        let streamOptions = try fields.objectField("stream_options")
        return ChatRequest(
            model: modelName,
            system: reader.system,
            messages: reader.messages,
            tools: try Self.tools(fields),
            toolChoice: try Self.toolChoice(fields),
            maxOutputTokens: try Self.outputCap(fields),
            temperature: try fields.double("temperature"),
            topP: try fields.double("top_p"),
            stopSequences: try fields.stringOrStrings("stop"),
            stream: stream ?? bodyStream ?? false,
            streamIncludeUsage: try streamOptions?.bool("include_usage") ?? false,
            responseFormat: try Self.responseFormat(fields)
        )
    }

    public func maxOutputTokens(_ body: JSONObjectBytes) throws(APIError) -> Int? {
        try Self.outputCap(Fields(body.members(["max_completion_tokens", "max_tokens"])))
    }

    private static func outputCap(_ fields: Fields) throws(APIError) -> Int? {
        // `max_completion_tokens` replaced `max_tokens`; the newer one wins when both are sent.
        let maxCompletionTokens = try fields.int("max_completion_tokens")
        let maxTokens = try fields.int("max_tokens")
        return maxCompletionTokens ?? maxTokens
    }

    public func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue {
        let text = response.text
        let calls = response.toolCalls
        var message: [String: JSONValue] = [
            "role": .string("assistant"),
            // OpenAI sends `null` content when the turn is only tool calls.
            "content": text.isEmpty && !calls.isEmpty ? .null : .string(text),
            "refusal": .null,
        ]
        if !calls.isEmpty { message["tool_calls"] = .array(calls.map(OpenAIChatBody.toolCall)) }
        return .object([
            "id": .string(OpenAIWire.prefixed(response.id, "chatcmpl-")),
            "object": .string("chat.completion"),
            "created": .int(response.created),
            "model": .string(response.model),
            "choices": .array([.object([
                "index": .int(0),
                "message": .object(message),
                "logprobs": .null,
                "finish_reason": .string(OpenAIWire.finishReasonText(response.finishReason)),
            ])]),
            "usage": OpenAIWire.chatUsage(response.usage),
        ])
    }

    public func makeStreamEncoder(for request: ChatRequest) -> any StreamEncoder {
        OpenAIChatStreamEncoder(request: request, clock: clock)
    }

    // MARK: Request options

    static func tools(_ body: Fields) throws(APIError) -> [ToolDefinition] {
        guard let items = try body.array("tools") else { return [] }
        var tools: [ToolDefinition] = []
        for (index, item) in items.enumerated() {
            let tool = try body.element(item, of: "tools", at: index)
            let type = try tool.string("type") ?? "function"
            guard type == "function" else { throw tool.invalid("type", "must be 'function'; got '\(type)'") }
            let function = try OpenAIWire.requiredObject(tool, "function")
            tools.append(ToolDefinition(
                name: try function.requiredString("name"),
                description: try function.string("description"),
                parameters: try OpenAIWire.parameters(function)
            ))
        }
        return tools
    }

    static func toolChoice(_ body: Fields) throws(APIError) -> ToolChoice? {
        try OpenAIWire.toolChoice(body, otherType: { "must be 'function'; got '\($0)'" }) { choice throws(APIError) in
            try OpenAIWire.requiredObject(choice, "function").requiredString("name")
        }
    }

    static func responseFormat(_ body: Fields) throws(APIError) -> ResponseFormat? {
        guard let format = try body.objectField("response_format") else { return nil }
        let type = try format.requiredString("type")
        switch type {
        case "text":
            return nil
        case "json_object":
            return .jsonObject
        case "json_schema":
            let schema = try OpenAIWire.requiredObject(format, "json_schema")
            return .jsonSchema(name: try schema.requiredString("name"), schema: .object(try schema.objectField("schema")?.object ?? [:]))
        default:
            throw format.invalid("type", "must be 'text', 'json_object' or 'json_schema'; got '\(type)'")
        }
    }
}
