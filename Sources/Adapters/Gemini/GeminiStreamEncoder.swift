import Core

/// Canonical stream events as `streamGenerateContent?alt=sse`: bare `data:` frames, each a GenerateContentResponse
/// chunk. Gemini sends a function call whole, so argument fragments are buffered until the call is complete.
struct GeminiStreamEncoder: StreamEncoder {
    private struct PendingCall {
        let index: Int
        let name: String
        var arguments = ""
    }

    /// Replaced by the upstream's id at `.start`; a stand-in keeps every chunk's `responseId` the same regardless.
    private var id = GeminiWire.randomResponseID()
    private var model: String
    private var usage: Usage?
    private var finishReason: FinishReason?
    private var pendingCall: PendingCall?
    private var ended = false

    init(model: String) {
        self.model = model
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        guard !ended else { return [] }
        switch event {
        case .start(let id, let model):
            self.id = id
            self.model = model
            return []
        case .usage(let usage):
            self.usage = usage
            return []
        case .textDelta(let text):
            guard !text.isEmpty else { return [] }
            return flushCall() + [chunk(parts: [GeminiWire.textPart(text)])]
        case .toolCallStart(let index, _, let name):
            let frames = flushCall()
            pendingCall = PendingCall(index: index, name: name)
            return frames
        case .toolCallArgumentsDelta(let index, let fragment):
            // Fragments of a call already sent cannot be added to it; upstreams send calls one after another.
            if pendingCall?.index == index { pendingCall?.arguments += fragment }
            return []
        case .finish(let reason):
            finishReason = reason
            return flushCall()
        }
    }

    /// The last chunk carries the finish reason and the final usage.
    mutating func finish() -> [SSEFrame] {
        guard !ended else { return [] }
        ended = true
        var candidate = candidate(parts: [GeminiWire.textPart("")])
        candidate["finishReason"] = .string(GeminiWire.finishReasonName(finishReason ?? .stop))
        var response = envelope(candidate)
        response["usageMetadata"] = GeminiWire.usageMetadata(usage ?? Usage())
        return flushCall() + [SSEFrame(data: JSONText.render(.object(response)))]
    }

    mutating func fail(message: String) -> [SSEFrame] {
        guard !ended else { return [] }
        ended = true
        return [SSEFrame(data: JSONText.render(.object([
            "error": .object(["code": .int(502), "message": .string(message), "status": .string("UNAVAILABLE")]),
        ])))]
    }

    private mutating func flushCall() -> [SSEFrame] {
        guard let call = pendingCall else { return [] }
        pendingCall = nil
        return [chunk(parts: [GeminiWire.functionCallPart(name: call.name, arguments: call.arguments)])]
    }

    private func chunk(parts: [JSONValue]) -> SSEFrame {
        SSEFrame(data: JSONText.render(.object(envelope(candidate(parts: parts)))))
    }

    private func candidate(parts: [JSONValue]) -> [String: JSONValue] {
        ["content": .object(["role": .string("model"), "parts": .array(parts)]), "index": .int(0)]
    }

    private func envelope(_ candidate: [String: JSONValue]) -> [String: JSONValue] {
        [
            "candidates": .array([.object(candidate)]),
            "modelVersion": .string(model),
            "responseId": .string(id),
        ]
    }
}
