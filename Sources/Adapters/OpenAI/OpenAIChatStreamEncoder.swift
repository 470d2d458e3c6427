import Core

/// Writes stream events as `chat.completion.chunk` frames. Every chunk of one stream shares id, created and model;
/// usage is held back so the order is always finish chunk, usage chunk (when asked), `[DONE]`.
struct OpenAIChatStreamEncoder: StreamEncoder {
    private let includeUsage: Bool
    private let clock: OpenAIClock
    private var id = ""
    private var model: String
    private var created: Int64 = 0
    private var started = false
    private var finished = false
    private var ended = false
    private var usage = Usage()

    init(request: ChatRequest, clock: OpenAIClock) {
        includeUsage = request.streamIncludeUsage
        model = request.model
        self.clock = clock
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        guard !ended else { return [] }
        if case .start(let id, let model) = event {
            return started ? [] : begin(id: id, model: model)
        }
        var frames = started ? [] : begin(id: OpenAIWire.randomID("chatcmpl-"), model: model)
        switch event {
        case .start:
            break
        case .textDelta(let text):
            if !text.isEmpty, !finished { frames.append(chunk(delta: ["content": .string(text)])) }
        case .toolCallStart(let index, let id, let name):
            guard !finished else { break }
            frames.append(chunk(delta: ["tool_calls": .array([.object([
                "index": .int(Int64(index)),
                "id": .string(id),
                "type": .string("function"),
                "function": .object(["name": .string(name), "arguments": .string("")]),
            ])])]))
        case .toolCallArgumentsDelta(let index, let fragment):
            guard !fragment.isEmpty, !finished else { break }
            frames.append(chunk(delta: ["tool_calls": .array([.object([
                "index": .int(Int64(index)),
                "function": .object(["arguments": .string(fragment)]),
            ])])]))
        case .finish(let reason):
            if !finished { frames.append(finishChunk(reason)) }
        case .usage(let usage):
            self.usage = usage
        }
        return frames
    }

    mutating func finish() -> [SSEFrame] {
        guard !ended else { return [] }
        var frames = started ? [] : begin(id: OpenAIWire.randomID("chatcmpl-"), model: model)
        // A completed stream without a finish reason still needs one: clients wait for it.
        if !finished { frames.append(finishChunk(.stop)) }
        if includeUsage {
            var usageChunk = envelope()
            usageChunk["choices"] = .array([])
            usageChunk["usage"] = OpenAIWire.chatUsage(usage)
            frames.append(SSEFrame(data: JSONText.object(usageChunk)))
        }
        frames.append(SSEFrame(data: "[DONE]"))
        ended = true
        return frames
    }

    mutating func fail(message: String) -> [SSEFrame] {
        guard !ended else { return [] }
        ended = true
        let error: JSONValue = .object([
            "message": .string(message),
            "type": .string("upstream_error"),
            "code": .string("upstream_stream_error"),
        ])
        return [SSEFrame(data: JSONText.object(["error": error])), SSEFrame(data: "[DONE]")]
    }

    // MARK: Chunks

    private mutating func begin(id: String, model: String) -> [SSEFrame] {
        self.id = OpenAIWire.prefixed(id, "chatcmpl-")
        self.model = model
        created = clock.now()
        started = true
        return [chunk(delta: ["role": .string("assistant"), "content": .string("")])]
    }

    private mutating func finishChunk(_ reason: FinishReason) -> SSEFrame {
        finished = true
        return chunk(delta: [:], finishReason: .string(OpenAIWire.finishReasonText(reason)))
    }

    private func chunk(delta: [String: JSONValue], finishReason: JSONValue = .null) -> SSEFrame {
        var fields = envelope()
        fields["choices"] = .array([.object([
            "index": .int(0),
            "delta": .object(delta),
            "logprobs": .null,
            "finish_reason": finishReason,
        ])])
        // With include_usage OpenAI sends `usage: null` on every chunk but the last.
        if includeUsage { fields["usage"] = .null }
        return SSEFrame(data: JSONText.object(fields))
    }

    private func envelope() -> [String: JSONValue] {
        [
            "id": .string(id),
            "object": .string("chat.completion.chunk"),
            "created": .int(created),
            "model": .string(model),
        ]
    }
}
