import Core

/// What we send an Anthropic upstream's `/v1/messages`, and how we read its answers.
public struct AnthropicProvider: ProviderCodec {
    /// Anthropic requires `max_tokens`; this stands in when the client did not say.
    public static let defaultMaxTokens = 4096

    private let now: @Sendable () -> Int64

    /// `now` gives `created` (Unix seconds), which Anthropic answers lack; tests pass a fixed one.
    public init(now: (@Sendable () -> Int64)? = nil) {
        self.now = now ?? AnthropicWire.now
    }

    public func encodeRequest(_ request: ChatRequest, upstreamModel: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(upstreamModel),
            "max_tokens": .int(Int64(request.maxOutputTokens ?? Self.defaultMaxTokens)),
            "messages": .array(AnthropicMessageWriter.messages(request.messages)),
        ]
        let system = request.system.filter { !$0.isEmpty }.joined(separator: "\n\n")
        if !system.isEmpty { body["system"] = .string(system) }
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(Self.tool))
            // Anthropic rejects tool_choice without tools.
            if let choice = request.toolChoice { body["tool_choice"] = Self.toolChoice(choice) }
        }
        if !request.stopSequences.isEmpty { body["stop_sequences"] = .array(request.stopSequences.map(JSONValue.string)) }
        if let temperature = request.temperature { body["temperature"] = AnthropicWire.number(temperature) }
        if let topP = request.topP { body["top_p"] = AnthropicWire.number(topP) }
        if request.stream { body["stream"] = .bool(true) }
        // `responseFormat` has no Anthropic equivalent and is left out.
        return .object(body)
    }

    public func reportedUsage(_ member: (String) -> JSONValue?) -> Usage? {
        let top = JSONValue.object(["type": member("type") ?? .null, "error": member("error") ?? .null])
        guard AnthropicWire.errorMessage(top) == nil, let usage = member("usage"), usage != .null else { return nil }
        return AnthropicWire.usage(from: usage)
    }

    public func decodeResponse(_ body: JSONValue, model: String) throws(UpstreamStreamError) -> ChatResponse {
        if let message = AnthropicWire.errorMessage(body) { throw UpstreamStreamError(message) }
        guard body.objectValue != nil else { throw UpstreamStreamError("upstream answer is not a JSON object") }
        var output: [OutputItem] = []
        for block in body["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text":
                if let text = block["text"]?.stringValue { output.append(.text(text)) }
            case "tool_use":
                output.append(.toolCall(ToolCall(
                    id: block["id"]?.stringValue ?? "",
                    name: block["name"]?.stringValue ?? "",
                    arguments: compactJSON(block["input"] ?? .object([:]))
                )))
            // thinking, redacted_thinking and server-tool blocks have no canonical form.
            default: continue
            }
        }
        return ChatResponse(
            id: body["id"]?.stringValue ?? AnthropicWire.randomMessageID(),
            model: model,
            created: now(),
            output: output,
            finishReason: AnthropicWire.finishReason(body["stop_reason"]?.stringValue),
            usage: AnthropicWire.usage(from: body["usage"])
        )
    }

    public func makeStreamDecoder(model: String) -> any StreamDecoder {
        AnthropicStreamDecoder(model: model)
    }

    static func tool(_ tool: ToolDefinition) -> JSONValue {
        // Anthropic insists on an object schema; a definition without one takes no arguments.
        var schema = tool.parameters.objectValue ?? [:]
        if schema["type"] == nil { schema["type"] = .string("object") }
        var fields: [String: JSONValue] = ["name": .string(tool.name), "input_schema": .object(schema)]
        if let description = tool.description { fields["description"] = .string(description) }
        return .object(fields)
    }

    static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: .object(["type": .string("auto")])
        case .none: .object(["type": .string("none")])
        case .required: .object(["type": .string("any")])
        case .named(let name): .object(["type": .string("tool"), "name": .string(name)])
        }
    }
}

/// Canonical messages as Anthropic `messages`: strictly alternating roles, tool results inside user turns.
enum AnthropicMessageWriter {
    static func messages(_ messages: [ChatMessage]) -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        for message in messages {
            let (role, blocks) = turn(message)
            // Empty turns are rejected by Anthropic; dropping one lets its neighbours merge instead.
            guard !blocks.isEmpty else { continue }
            // Anthropic requires alternation: consecutive same-role turns (e.g. parallel tool results) become one.
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { turn in
            // Tool results must lead a user turn, before any text the user added.
            let results = turn.blocks.filter(isToolResult)
            let others = turn.blocks.filter { !isToolResult($0) }
            return .object(["role": .string(turn.role), "content": .array(results + others)])
        }
    }

    private static func turn(_ message: ChatMessage) -> (String, [JSONValue]) {
        switch message.role {
        case .user:
            return ("user", parts(message.parts))
        case .assistant:
            return ("assistant", parts(message.parts) + message.toolCalls.map(AnthropicWire.toolUseBlock))
        case .tool:
            var result: [String: JSONValue] = [
                "type": .string("tool_result"), "tool_use_id": .string(message.toolCallId ?? ""),
            ]
            let hasImages = message.parts.contains { if case .image = $0 { true } else { false } }
            if hasImages {
                result["content"] = .array(parts(message.parts))
            } else if !message.text.isEmpty {
                result["content"] = .string(message.text)
            }
            if message.isError { result["is_error"] = .bool(true) }
            return ("user", [.object(result)])
        }
    }

    private static func parts(_ parts: [ContentPart]) -> [JSONValue] {
        parts.compactMap { part in
            switch part {
            // Anthropic rejects empty text blocks (OpenAI assistants often send "" beside tool calls).
            case .text(let text): text.isEmpty ? nil : AnthropicWire.textBlock(text)
            case .image(let image): AnthropicWire.imageBlock(image)
            }
        }
    }

    private static func isToolResult(_ block: JSONValue) -> Bool {
        block["type"]?.stringValue == "tool_result"
    }
}
