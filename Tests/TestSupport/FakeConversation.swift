import Core

/// What a fake provider understood of a request, read from its own wire format, and the answer it gives.
/// Replies are deterministic so tests can check that content survived translation both ways.
struct FakeConversation {
    var lastUserText = ""
    var images = 0
    var toolNames: [String] = []
    var toolResult: String?
    var systemText = ""

    enum Reply {
        case text(String)
        case toolCall(name: String, arguments: String)
    }

    var reply: Reply {
        if let toolResult { return .text("Tool said: \(toolResult)") }
        if let tool = toolNames.first, lastUserText.lowercased().contains("weather") {
            return .toolCall(name: tool, arguments: #"{"city":"Paris","unit":"celsius"}"#)
        }
        var text = "Echo: \(lastUserText)"
        if images > 0 { text += " [images: \(images)]" }
        if !systemText.isEmpty { text += " [system: \(systemText)]" }
        return .text(text)
    }

    static func read(_ kind: FakeProvider.Kind, _ body: JSONValue) -> FakeConversation {
        switch kind {
        case .openai: readOpenAI(body)
        case .anthropic: readAnthropic(body)
        case .gemini: readGemini(body)
        }
    }

    private static func texts(_ content: JSONValue?, textKey: String = "text") -> (String, Int) {
        if let s = content?.stringValue { return (s, 0) }
        var text = ""
        var images = 0
        for part in content?.arrayValue ?? [] {
            let type = part["type"]?.stringValue ?? ""
            if let t = part[textKey]?.stringValue, type.contains("text") || type.isEmpty { text += t }
            if type == "image_url" || type == "image" || type == "input_image" { images += 1 }
        }
        return (text, images)
    }

    private static func readOpenAI(_ body: JSONValue) -> FakeConversation {
        var c = FakeConversation()
        c.toolNames = (body["tools"]?.arrayValue ?? []).compactMap { $0["function"]?["name"]?.stringValue }
        let messages = body["messages"]?.arrayValue ?? []
        c.systemText = messages.filter { $0["role"]?.stringValue == "system" }.map { texts($0["content"]).0 }.joined()
        if let last = messages.last, last["role"]?.stringValue == "tool" { c.toolResult = texts(last["content"]).0 }
        if let user = messages.last(where: { $0["role"]?.stringValue == "user" }) {
            (c.lastUserText, c.images) = texts(user["content"])
        }
        return c
    }

    private static func readAnthropic(_ body: JSONValue) -> FakeConversation {
        var c = FakeConversation()
        c.toolNames = (body["tools"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        c.systemText = body["system"]?.stringValue ?? texts(body["system"]).0
        let messages = body["messages"]?.arrayValue ?? []
        if let last = messages.last, let blocks = last["content"]?.arrayValue,
            let result = blocks.first(where: { $0["type"]?.stringValue == "tool_result" })
        {
            c.toolResult = result["content"]?.stringValue ?? texts(result["content"]).0
        }
        if let user = messages.last(where: { $0["role"]?.stringValue == "user" }) {
            (c.lastUserText, c.images) = texts(user["content"])
        }
        return c
    }

    private static func readGemini(_ body: JSONValue) -> FakeConversation {
        var c = FakeConversation()
        c.toolNames = (body["tools"]?.arrayValue ?? []).flatMap { ($0["functionDeclarations"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue } }
        c.systemText = (body["systemInstruction"]?["parts"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
        let contents = body["contents"]?.arrayValue ?? []
        if let last = contents.last, let response = (last["parts"]?.arrayValue ?? []).first(where: { $0["functionResponse"] != nil }) {
            let payload = response["functionResponse"]?["response"] ?? .null
            c.toolResult = payload["result"]?.stringValue ?? payload["content"]?.stringValue ?? JSONText.render(payload)
        }
        if let user = contents.last(where: { $0["role"]?.stringValue == "user" && ($0["parts"]?.arrayValue ?? []).contains { $0["text"] != nil } }) {
            for part in user["parts"]?.arrayValue ?? [] {
                if let t = part["text"]?.stringValue { c.lastUserText += t }
                if part["inlineData"] != nil || part["fileData"] != nil { c.images += 1 }
            }
        }
        return c
    }
}
