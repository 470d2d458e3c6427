import Core

/// Builds a Chat Completions request body from a canonical request (what an OpenAI-compatible upstream receives).
enum OpenAIChatBody {
    static func request(_ request: ChatRequest, model: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(model),
            "messages": .array(request.system.map(systemMessage) + request.messages.map(message)),
        ]
        if !request.tools.isEmpty { body["tools"] = .array(request.tools.map(tool)) }
        if let choice = request.toolChoice { body["tool_choice"] = toolChoice(choice) }
        // `max_tokens` rather than `max_completion_tokens`: every compatible server knows the older name.
        if let maxTokens = request.maxOutputTokens { body["max_tokens"] = .int(Int64(maxTokens)) }
        if let temperature = request.temperature { body["temperature"] = .double(temperature) }
        if let topP = request.topP { body["top_p"] = .double(topP) }
        if !request.stopSequences.isEmpty { body["stop"] = .array(request.stopSequences.map { .string($0) }) }
        if request.stream {
            body["stream"] = .bool(true)
            // Always: the engine meters usage even when the client did not ask to see it.
            body["stream_options"] = .object(["include_usage": .bool(true)])
        }
        if let format = request.responseFormat { body["response_format"] = responseFormat(format) }
        return .object(body)
    }

    static func toolCall(_ call: ToolCall) -> JSONValue {
        .object([
            "id": .string(call.id),
            "type": .string("function"),
            "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)]),
        ])
    }

    private static func systemMessage(_ text: String) -> JSONValue {
        .object(["role": .string("system"), "content": .string(text)])
    }

    private static func message(_ message: ChatMessage) -> JSONValue {
        switch message.role {
        case .user:
            return .object(["role": .string("user"), "content": content(message.parts)])
        case .assistant:
            var fields: [String: JSONValue] = ["role": .string("assistant")]
            // Assistant content is text only; `null` is the documented form for a turn that only calls tools.
            let text = message.text
            fields["content"] = text.isEmpty && !message.toolCalls.isEmpty ? .null : .string(text)
            if !message.toolCalls.isEmpty { fields["tool_calls"] = .array(message.toolCalls.map(toolCall)) }
            return .object(fields)
        case .tool:
            return .object([
                "role": .string("tool"),
                "tool_call_id": .string(message.toolCallId ?? ""),
                // Chat Completions tool results take text parts only, so images (Anthropic tool results) are left out.
                "content": content(message.parts.filter { if case .text = $0 { true } else { false } }),
            ])
        }
    }

    /// A lone text part goes as a plain string (accepted everywhere); anything else as an array of parts.
    private static func content(_ parts: [ContentPart]) -> JSONValue {
        if parts.isEmpty { return .string("") }
        if parts.count == 1, case .text(let text) = parts[0] { return .string(text) }
        return .array(parts.map { part in
            switch part {
            case .text(let text):
                .object(["type": .string("text"), "text": .string(text)])
            case .image(let source):
                .object(["type": .string("image_url"), "image_url": .object(["url": .string(source.urlString)])])
            }
        })
    }

    private static func tool(_ tool: ToolDefinition) -> JSONValue {
        var function: [String: JSONValue] = ["name": .string(tool.name), "parameters": tool.parameters]
        if let description = tool.description { function["description"] = .string(description) }
        return .object(["type": .string("function"), "function": .object(function)])
    }

    private static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: .string("auto")
        case .none: .string("none")
        case .required: .string("required")
        case .named(let name): .object(["type": .string("function"), "function": .object(["name": .string(name)])])
        }
    }

    private static func responseFormat(_ format: ResponseFormat) -> JSONValue {
        switch format {
        case .jsonObject:
            .object(["type": .string("json_object")])
        case .jsonSchema(let name, let schema):
            .object(["type": .string("json_schema"), "json_schema": .object(["name": .string(name), "schema": schema])])
        }
    }
}
