import Core

/// Canonical messages as Gemini `contents`: `user`/`model` turns, consecutive same-role turns merged, tool results
/// as `functionResponse` parts in user turns.
struct GeminiContentsWriter {
    /// Put on the first functionCall part of every model turn when set (see `GeminiProvider.init`).
    let thoughtSignature: String?

    func contents(_ messages: [ChatMessage]) -> [JSONValue] {
        var namesByCallID: [String: String] = [:]
        var turns: [(role: String, parts: [JSONValue])] = []
        for message in messages {
            let role: String
            var parts: [JSONValue]
            switch message.role {
            case .user:
                role = "user"
                parts = Self.parts(message.parts)
            case .assistant:
                role = "model"
                parts = Self.parts(message.parts)
                for (position, call) in message.toolCalls.enumerated() {
                    namesByCallID[call.id] = call.name
                    var part = GeminiWire.functionCallPart(name: call.name, arguments: call.arguments)
                    if position == 0, let thoughtSignature, case .object(var fields) = part {
                        fields["thoughtSignature"] = .string(thoughtSignature)
                        part = .object(fields)
                    }
                    parts.append(part)
                }
            case .tool:
                role = "user"
                // Gemini matches responses to calls by name; OpenAI-style tool messages only carry the call id.
                let name = message.toolName ?? message.toolCallId.flatMap { namesByCallID[$0] } ?? message.toolCallId ?? "tool"
                parts = [.object(["functionResponse": .object([
                    "name": .string(name), "response": Self.response(message),
                ])])]
            }
            // Gemini rejects contents without parts.
            guard !parts.isEmpty else { continue }
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].parts += parts
            } else {
                turns.append((role, parts))
            }
        }
        return turns.map { .object(["role": .string($0.role), "parts": .array($0.parts)]) }
    }

    /// `response` must be an object: a JSON object result as it is, other text wrapped under `result`
    /// (or `error`, Gemini's key for a failed call).
    static func response(_ message: ChatMessage) -> JSONValue {
        let text = message.text
        if let value = try? JSONText.parse(Array(text.utf8)), case .object = value { return value }
        return .object([message.isError ? "error" : "result": .string(text)])
    }

    static func parts(_ parts: [ContentPart]) -> [JSONValue] {
        parts.compactMap { part in
            switch part {
            case .text(let text):
                return text.isEmpty ? nil : GeminiWire.textPart(text)
            case .image(.base64(let mediaType, let data)):
                return .object(["inlineData": .object(["mimeType": .string(mediaType), "data": .string(data)])])
            case .image(.url(let url)):
                var file: [String: JSONValue] = ["fileUri": .string(url)]
                if let mimeType = imageMimeType(url) { file["mimeType"] = .string(mimeType) }
                return .object(["fileData": .object(file)])
            }
        }
    }

    /// A MIME type from a URL's extension: Gemini's `fileData.mimeType` is optional, but helps when it is known.
    private static func imageMimeType(_ url: String) -> String? {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "heic": return "image/heic"
        case "heif": return "image/heif"
        default: return nil
        }
    }
}
