import Core

/// `streamGenerateContent?alt=sse` chunks as canonical stream events. Each chunk is a whole GenerateContentResponse;
/// function calls arrive complete, so each becomes a start plus one arguments fragment.
struct GeminiStreamDecoder: StreamDecoder {
    private let model: String
    private var started = false
    private var callCount = 0
    private var lastUsage: Usage?
    private(set) var isComplete = false

    init(model: String) {
        self.model = model
    }

    mutating func decode(_ frame: SSEFrame) throws(UpstreamStreamError) -> [StreamEvent] {
        // Gemini sends no end marker, but OpenAI-style proxies in front of it sometimes add one.
        if frame.data.isEmpty || frame.data == "[DONE]" { return [] }
        guard let chunk = try? JSONText.parse(frame.data.utf8), chunk.objectValue != nil else {
            throw UpstreamStreamError("upstream sent a stream chunk that is not a JSON object")
        }
        if let message = GeminiWire.errorMessage(chunk) { throw UpstreamStreamError(message) }

        var events: [StreamEvent] = []
        if !started {
            started = true
            events.append(.start(id: chunk["responseId"]?.stringValue ?? GeminiWire.randomResponseID(), model: model))
        }
        let candidate = chunk["candidates"]?.arrayValue?.first
        for part in candidate?["content"]?["parts"]?.arrayValue ?? [] {
            if part["thought"]?.boolValue == true { continue }
            if let call = part["functionCall"] {
                let index = callCount
                callCount += 1
                events.append(.toolCallStart(
                    index: index, id: call["id"]?.stringValue ?? GeminiWire.callID(index), name: call["name"]?.stringValue ?? ""
                ))
                events.append(.toolCallArgumentsDelta(index: index, fragment: compactJSON(call["args"] ?? .object([:]))))
            } else if let text = part["text"]?.stringValue, !text.isEmpty {
                events.append(.textDelta(text))
            }
        }
        if !isComplete {
            if let reason = candidate?["finishReason"]?.stringValue {
                isComplete = true
                events.append(.finish(GeminiWire.finishReason(reason, sawFunctionCalls: callCount > 0)))
            } else if candidate == nil, chunk["promptFeedback"]?["blockReason"]?.stringValue != nil {
                // A blocked prompt ends the stream without candidates.
                isComplete = true
                events.append(.finish(.contentFilter))
            }
        }
        // Every chunk repeats usageMetadata; only changes are worth passing on.
        if let metadata = chunk["usageMetadata"], metadata != .null {
            let usage = GeminiWire.usage(from: metadata)
            if usage != lastUsage {
                lastUsage = usage
                events.append(.usage(usage))
            }
        }
        return events
    }
}
