import Core

/// What we send an OpenAI-compatible upstream's `/v1/chat/completions`, and how we read its answers.
public struct OpenAIChatProvider: ProviderCodec {
    private let clock: OpenAIClock

    public init(clock: OpenAIClock = .system) {
        self.clock = clock
    }

    public func encodeRequest(_ request: ChatRequest, upstreamModel: String) -> JSONValue {
        OpenAIChatBody.request(request, model: upstreamModel)
    }

    public func reportedUsage(_ member: (String) -> JSONValue?) -> Usage? {
        if let error = member("error"), error != .null { return nil }
        guard let usage = member("usage"), usage != .null else { return nil }
        return OpenAIWire.usage(fromChat: usage)
    }

    public func decodeResponse(_ body: JSONValue, model: String) throws(UpstreamStreamError) -> ChatResponse {
        guard body.objectValue != nil else { throw UpstreamStreamError("upstream answer is not a JSON object") }
        if let error = body["error"], error != .null { throw UpstreamStreamError(OpenAIWire.errorMessage(error)) }
        guard let choices = body["choices"]?.arrayValue, !choices.isEmpty else {
            throw UpstreamStreamError("upstream answer has no choices")
        }
        // Only the first choice: the gateway does not ask for `n` > 1.
        let choice = choices.first { $0["index"]?.intValue == 0 } ?? choices[0]
        guard let message = choice["message"], message.objectValue != nil else {
            throw UpstreamStreamError("upstream answer has no message")
        }
        var output: [OutputItem] = []
        let text = Self.text(message)
        if !text.isEmpty { output.append(.text(text)) }
        for call in message["tool_calls"]?.arrayValue ?? [] {
            guard let function = call["function"] else { continue }
            output.append(.toolCall(ToolCall(
                id: call["id"]?.stringValue ?? "",
                name: function["name"]?.stringValue ?? "",
                arguments: Self.arguments(function["arguments"])
            )))
        }
        let hasToolCalls = output.contains { if case .toolCall = $0 { true } else { false } }
        let finish = choice["finish_reason"]?.stringValue.map(OpenAIWire.finishReason(fromText:))
        return ChatResponse(
            id: body["id"]?.stringValue ?? OpenAIWire.randomID("chatcmpl-"),
            model: model,
            created: body["created"]?.intValue ?? clock.now(),
            output: output,
            finishReason: finish ?? (hasToolCalls ? .toolCalls : .stop),
            usage: body["usage"].map(OpenAIWire.usage(fromChat:)) ?? Usage()
        )
    }

    public func makeStreamDecoder(model: String) -> any StreamDecoder {
        OpenAIChatStreamDecoder(model: model)
    }

    /// Message text: a string, or (some compatible servers) an array of text parts; a refusal stands in for text.
    static func text(_ message: JSONValue) -> String {
        if let text = message["content"]?.stringValue, !text.isEmpty { return text }
        if let parts = message["content"]?.arrayValue {
            let text = parts.compactMap { $0["text"]?.stringValue }.joined()
            if !text.isEmpty { return text }
        }
        return message["refusal"]?.stringValue ?? ""
    }

    /// Arguments are JSON text; a few compatible servers send the object itself.
    static func arguments(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case nil, .null?: "{}"
        case let other?: compactJSON(other)
        }
    }
}
