import Core

/// Reads the `messages` of an Anthropic Messages request into canonical messages, with 400s that name the path.
enum AnthropicMessageReader {
    static func messages(_ items: [JSONValue], in fields: Fields) throws(APIError) -> [ChatMessage] {
        guard !items.isEmpty else { throw fields.invalid("messages", "must contain at least one message") }
        var messages: [ChatMessage] = []
        for (index, item) in items.enumerated() {
            let message = try fields.element(item, of: "messages", at: index)
            let role = try message.requiredString("role")
            switch role {
            case "user": messages += try user(message)
            case "assistant": messages.append(try assistant(message))
            default: throw message.invalid("role", "must be 'user' or 'assistant', got '\(role)'")
            }
        }
        return messages
    }

    /// A user turn: its tool results become `.tool` messages (first, as Anthropic requires them to lead),
    /// then the remaining text and images one user message.
    private static func user(_ message: Fields) throws(APIError) -> [ChatMessage] {
        var toolResults: [ChatMessage] = []
        var parts: [ContentPart] = []
        for block in try blocks(message) {
            switch try block.requiredString("type") {
            case "text": parts.append(.text(try block.requiredString("text")))
            case "image": parts.append(.image(try image(block)))
            case "tool_result": toolResults.append(try toolResult(block))
            case "tool_use": throw block.invalid("type", "'tool_use' blocks belong in assistant messages")
            case let other: throw unsupported(block, other)
            }
        }
        if parts.isEmpty && !toolResults.isEmpty { return toolResults }
        return toolResults + [ChatMessage(role: .user, parts: parts)]
    }

    private static func assistant(_ message: Fields) throws(APIError) -> ChatMessage {
        var parts: [ContentPart] = []
        var calls: [ToolCall] = []
        for block in try blocks(message) {
            switch try block.requiredString("type") {
            case "text": parts.append(.text(try block.requiredString("text")))
            case "tool_use":
                calls.append(ToolCall(
                    id: try block.requiredString("id"), name: try block.requiredString("name"),
                    arguments: compactJSON(.object(try AnthropicWire.requiredObject(block, "input").object))
                ))
            // Extended-thinking history has no canonical form; the signature only means something to Anthropic.
            case "thinking", "redacted_thinking": continue
            case "tool_result": throw block.invalid("type", "'tool_result' blocks belong in user messages")
            case let other: throw unsupported(block, other)
            }
        }
        return ChatMessage(role: .assistant, parts: parts, toolCalls: calls)
    }

    /// `content` as blocks: a plain string is one text block.
    private static func blocks(_ message: Fields) throws(APIError) -> [Fields] {
        let content = try message.required("content")
        if let text = content.stringValue {
            return [Fields(["type": .string("text"), "text": .string(text)], path: message.name("content"))]
        }
        guard let items = content.arrayValue else {
            throw message.typeError("content", "a string or an array of content blocks", content)
        }
        var blocks: [Fields] = []
        for (index, item) in items.enumerated() {
            blocks.append(try message.element(item, of: "content", at: index))
        }
        return blocks
    }

    private static func toolResult(_ block: Fields) throws(APIError) -> ChatMessage {
        let id = try block.requiredString("tool_use_id")
        var parts: [ContentPart] = []
        if let content = block.object["content"], content != .null {
            if let text = content.stringValue {
                parts.append(.text(text))
            } else if let items = content.arrayValue {
                for (index, item) in items.enumerated() {
                    let inner = try block.element(item, of: "content", at: index)
                    switch try inner.requiredString("type") {
                    case "text": parts.append(.text(try inner.requiredString("text")))
                    case "image": parts.append(.image(try image(inner)))
                    case let other: throw unsupported(inner, other)
                    }
                }
            } else {
                throw block.typeError("content", "a string or an array of content blocks", content)
            }
        }
        return ChatMessage(role: .tool, parts: parts, toolCallId: id, isError: try block.bool("is_error") ?? false)
    }

    static func image(_ block: Fields) throws(APIError) -> ImageSource {
        let source = try AnthropicWire.requiredObject(block, "source")
        switch try source.requiredString("type") {
        case "base64": return .base64(mediaType: try source.requiredString("media_type"), data: try source.requiredString("data"))
        case "url": return .url(try source.requiredString("url"))
        case let other: throw source.invalid("type", "must be 'base64' or 'url', got '\(other)'")
        }
    }

    private static func unsupported(_ block: Fields, _ type: String) -> APIError {
        block.invalid("type", "content block type '\(type)' is not supported by this gateway")
    }
}
