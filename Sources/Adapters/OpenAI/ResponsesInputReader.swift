import Core

/// Reads a Responses API `input` (a string or an array of items) into system text and canonical messages.
struct ResponsesInputReader {
    private(set) var system: [String] = []
    private(set) var messages: [ChatMessage] = []

    mutating func read(_ body: Fields) throws(APIError) {
        let input = try body.required("input")
        if let text = input.stringValue {
            messages.append(ChatMessage(role: .user, parts: [.text(text)]))
            return
        }
        guard let items = input.arrayValue else {
            throw body.typeError("input", "a string or an array of input items", input)
        }
        guard !items.isEmpty else { throw body.invalid("input", "must not be empty") }
        for (index, item) in items.enumerated() {
            try readItem(try body.element(item, of: "input", at: index))
        }
    }

    private mutating func readItem(_ item: Fields) throws(APIError) {
        // Easy input messages (`{role, content}`) may leave out `type`.
        let type = try item.string("type") ?? "message"
        switch type {
        case "message":
            try readMessage(item)
        case "function_call":
            let call = ToolCall(
                id: try item.requiredString("call_id"),
                name: try item.requiredString("name"),
                arguments: try item.requiredString("arguments")
            )
            // Calls that follow an assistant message belong to the same turn.
            if let last = messages.indices.last, messages[last].role == .assistant {
                messages[last].toolCalls.append(call)
            } else {
                messages.append(ChatMessage(role: .assistant, toolCalls: [call]))
            }
        case "function_call_output":
            let callId = try item.requiredString("call_id")
            _ = try item.required("output")
            messages.append(ChatMessage(role: .tool, parts: try Self.parts(item, "output", roleAllowsImages: true), toolCallId: callId))
        case "reasoning":
            // Reasoning from an earlier turn only means something to the provider that produced it.
            break
        default:
            throw item.invalid("type", "input item type '\(type)' needs a provider with native Responses support")
        }
    }

    private mutating func readMessage(_ item: Fields) throws(APIError) {
        let role = try item.requiredString("role")
        _ = try item.required("content")
        switch role {
        case "system", "developer":
            let parts = try Self.parts(item, "content", roleAllowsImages: false)
            system.append(OpenAIChatMessageReader.texts(parts).joined(separator: "\n"))
        case "user":
            messages.append(ChatMessage(role: .user, parts: try Self.parts(item, "content", roleAllowsImages: true)))
        case "assistant":
            messages.append(ChatMessage(role: .assistant, parts: try Self.parts(item, "content", roleAllowsImages: false)))
        default:
            throw item.invalid("role", "must be one of user, assistant, system, developer; got '\(role)'")
        }
    }

    /// Content as a string or an array of `input_text` / `output_text` / `input_image` parts.
    private static func parts(_ item: Fields, _ key: String, roleAllowsImages: Bool) throws(APIError) -> [ContentPart] {
        guard let content = item.object[key], content != .null else { return [] }
        if let text = content.stringValue { return text.isEmpty ? [] : [.text(text)] }
        guard let elements = content.arrayValue else {
            throw item.typeError(key, "a string or an array of content parts", content)
        }
        var parts: [ContentPart] = []
        for (index, element) in elements.enumerated() {
            let part = try item.element(element, of: key, at: index)
            let type = try part.requiredString("type")
            switch type {
            case "input_text", "output_text":
                parts.append(.text(try part.requiredString("text")))
            case "refusal":
                parts.append(.text(try part.requiredString("refusal")))
            case "input_image" where roleAllowsImages:
                if part.has("file_id") && !part.has("image_url") {
                    throw part.invalid("file_id", "(uploaded files) needs a provider with native Responses support")
                }
                parts.append(.image(try OpenAIWire.image(url: try part.requiredString("image_url"), part, "image_url")))
            default:
                throw part.invalid("type", "content part type '\(type)' is not supported here")
            }
        }
        return parts
    }
}
