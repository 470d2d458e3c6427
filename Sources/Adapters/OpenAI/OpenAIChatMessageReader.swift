import Core

/// Reads Chat Completions `messages` into system text and canonical messages, naming the field path in every 400.
struct OpenAIChatMessageReader {
    private(set) var system: [String] = []
    private(set) var messages: [ChatMessage] = []

    mutating func read(_ body: Fields) throws(APIError) {
        let items = try OpenAIWire.requiredArray(body, "messages")
        guard !items.isEmpty else { throw body.invalid("messages", "must not be empty") }
        for (index, item) in items.enumerated() {
            try readMessage(try body.element(item, of: "messages", at: index))
        }
    }

    private mutating func readMessage(_ message: Fields) throws(APIError) {
        let role = try message.requiredString("role")
        switch role {
        case "system", "developer":
            _ = try message.required("content")
            // Parts of one system message are separate paragraphs of the same instructions.
            system.append(Self.texts(try Self.parts(message, allowImages: false)).joined(separator: "\n"))
        case "user":
            _ = try message.required("content")
            messages.append(ChatMessage(role: .user, parts: try Self.parts(message, allowImages: true)))
        case "assistant":
            messages.append(ChatMessage(
                role: .assistant, parts: try Self.parts(message, allowImages: false), toolCalls: try Self.toolCalls(message)
            ))
        case "tool":
            let callId = try message.requiredString("tool_call_id")
            _ = try message.required("content")
            messages.append(ChatMessage(role: .tool, parts: try Self.parts(message, allowImages: false), toolCallId: callId))
        case "function":
            throw message.invalid(
                "role", "'function' (legacy function calling) is not supported; send 'tool' messages with 'tool_call_id' instead"
            )
        default:
            throw message.invalid("role", "must be one of system, developer, user, assistant, tool; got '\(role)'")
        }
    }

    /// `content` as a string or an array of parts. An empty string is no content (so `""` and `null` agree).
    static func parts(_ message: Fields, allowImages: Bool) throws(APIError) -> [ContentPart] {
        guard let content = message.object["content"], content != .null else { return [] }
        switch content {
        case .string(let text):
            return text.isEmpty ? [] : [.text(text)]
        case .array(let items):
            var parts: [ContentPart] = []
            for (index, item) in items.enumerated() {
                parts.append(try part(try message.element(item, of: "content", at: index), allowImages: allowImages))
            }
            return parts
        default:
            throw message.typeError("content", "a string or an array of content parts", content)
        }
    }

    private static func part(_ part: Fields, allowImages: Bool) throws(APIError) -> ContentPart {
        let type = try part.requiredString("type")
        switch type {
        case "text":
            return .text(try part.requiredString("text"))
        case "refusal":
            // An earlier assistant refusal replayed in history: keep its words as text.
            return .text(try part.requiredString("refusal"))
        case "image_url" where allowImages:
            // The spec says an object `{url, detail}`; some clients send the URL as a bare string.
            if let url = part.object["image_url"]?.stringValue { return .image(try OpenAIWire.image(url: url, part, "image_url")) }
            let image = try OpenAIWire.requiredObject(part, "image_url")
            return .image(try OpenAIWire.image(url: try image.requiredString("url"), image, "url"))
        default:
            throw part.invalid("type", "content part type '\(type)' is not supported in this message")
        }
    }

    static func texts(_ parts: [ContentPart]) -> [String] {
        parts.compactMap { if case .text(let text) = $0 { text } else { nil } }
    }

    private static func toolCalls(_ message: Fields) throws(APIError) -> [ToolCall] {
        guard let items = try message.array("tool_calls") else { return [] }
        var calls: [ToolCall] = []
        for (index, item) in items.enumerated() {
            let call = try message.element(item, of: "tool_calls", at: index)
            if let type = try call.string("type"), type != "function" {
                throw call.invalid("type", "must be 'function'; got '\(type)'")
            }
            let function = try OpenAIWire.requiredObject(call, "function")
            calls.append(ToolCall(
                id: try call.requiredString("id"),
                name: try function.requiredString("name"),
                arguments: try function.string("arguments") ?? "{}"
            ))
        }
        return calls
    }
}
