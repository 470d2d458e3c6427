import Core

/// Reads Gemini `contents` into canonical messages. Gemini function calls usually have no ids, so calls get
/// `call_<n>` in request order and each functionResponse answers a pending call with its name.
struct GeminiContentsReader {
    private(set) var messages: [ChatMessage] = []
    private var callCount = 0
    /// Calls not yet answered, one list per model turn (most recent last).
    private var pendingTurns: [[(id: String, name: String)]] = []

    mutating func read(_ content: Fields) throws(APIError) {
        let role = try content.string("role") ?? "user"
        let partsKey = GeminiWire.key(content, "parts")
        guard let items = try content.array(partsKey) else { throw GeminiWire.missing(content, partsKey) }
        var parts: [Fields] = []
        for (index, item) in items.enumerated() {
            parts.append(try content.element(item, of: partsKey, at: index))
        }
        switch role {
        case "user", "function": try readUser(parts)  // "function" is the older role for function responses.
        case "model": try readModel(parts)
        default: throw content.invalid("role", "must be 'user' or 'model', got '\(role)'")
        }
    }

    /// Function responses become `.tool` messages first, then any other parts one user message.
    private mutating func readUser(_ parts: [Fields]) throws(APIError) {
        var toolMessages: [ChatMessage] = []
        var contentParts: [ContentPart] = []
        for part in parts {
            if let response = try part.objectField(GeminiWire.key(part, "functionResponse")) {
                toolMessages.append(try toolMessage(response))
            } else if try part.objectField(GeminiWire.key(part, "functionCall")) != nil {
                throw invalidPart(part, "a functionCall part belongs in a 'model' turn")
            } else if let content = try contentPart(part) {
                contentParts.append(content)
            }
        }
        messages += toolMessages
        if !contentParts.isEmpty || toolMessages.isEmpty { messages.append(ChatMessage(role: .user, parts: contentParts)) }
    }

    private mutating func readModel(_ parts: [Fields]) throws(APIError) {
        var contentParts: [ContentPart] = []
        var calls: [ToolCall] = []
        for part in parts {
            if let call = try part.objectField(GeminiWire.key(part, "functionCall")) {
                let name = try call.requiredString("name")
                let argsKey = GeminiWire.key(call, "args")
                let args = try call.objectField(argsKey).map { JSONValue.object($0.object) } ?? .object([:])
                let id = try call.string("id") ?? GeminiWire.callID(callCount)
                callCount += 1
                calls.append(ToolCall(id: id, name: name, arguments: compactJSON(args)))
            } else if try part.objectField(GeminiWire.key(part, "functionResponse")) != nil {
                throw invalidPart(part, "a functionResponse part belongs in a 'user' turn")
            } else if let content = try contentPart(part) {
                contentParts.append(content)
            }
        }
        if !calls.isEmpty { pendingTurns.append(calls.map { ($0.id, $0.name) }) }
        messages.append(ChatMessage(role: .assistant, parts: contentParts, toolCalls: calls))
    }

    private mutating func toolMessage(_ response: Fields) throws(APIError) -> ChatMessage {
        let name = try response.requiredString("name")
        let body = try response.objectField("response").map { JSONValue.object($0.object) } ?? .object([:])
        let id = try response.string("id").map { answer(id: $0) } ?? answer(name: name)
        return ChatMessage(
            role: .tool, parts: [.text(compactJSON(body))], toolCallId: id, toolName: name,
            // Gemini's convention for a failed call is an `error` key in the response.
            isError: body["error"].map { $0 != .null } ?? false
        )
    }

    /// The most recent model turn with a pending call of this name answers it; within a turn calls are answered in
    /// order, so parallel calls to the same function pair with their responses in sequence.
    private mutating func answer(name: String) -> String? {
        for turn in pendingTurns.indices.reversed() {
            if let position = pendingTurns[turn].firstIndex(where: { $0.name == name }) {
                return pendingTurns[turn].remove(at: position).id
            }
        }
        return nil
    }

    private mutating func answer(id: String) -> String {
        for turn in pendingTurns.indices {
            pendingTurns[turn].removeAll { $0.id == id }
        }
        return id
    }

    /// A text or media part; `nil` for parts with nothing canonical to carry (model thoughts).
    private func contentPart(_ part: Fields) throws(APIError) -> ContentPart? {
        if try part.bool("thought") == true { return nil }
        if let text = try part.string("text") { return .text(text) }
        if let inline = try part.objectField(GeminiWire.key(part, "inlineData")) {
            let mimeKey = GeminiWire.key(inline, "mimeType")
            guard let mimeType = try inline.string(mimeKey) else { throw GeminiWire.missing(inline, mimeKey) }
            return .image(.base64(mediaType: mimeType, data: try inline.requiredString("data")))
        }
        if let file = try part.objectField(GeminiWire.key(part, "fileData")) {
            let uriKey = GeminiWire.key(file, "fileUri")
            guard let uri = try file.string(uriKey) else { throw GeminiWire.missing(file, uriKey) }
            return .image(.url(uri))
        }
        throw invalidPart(part, "must contain one of text, inlineData, fileData, functionCall or functionResponse")
    }

    private func invalidPart(_ part: Fields, _ message: String) -> APIError {
        .badRequest("'\(part.path)' \(message)", param: part.path, code: "invalid_value")
    }
}
