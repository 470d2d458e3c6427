import Core

/// Canonical stream events as Anthropic Messages SSE: `message_start`, content blocks opened, filled and closed in
/// order, then `message_delta` (stop reason and final usage) and `message_stop`.
struct AnthropicStreamEncoder: StreamEncoder {
    private struct OpenBlock {
        let index: Int
        let isText: Bool
    }

    private var id: String?
    private var model: String
    private var usage: Usage?
    private var stopReason: FinishReason?
    private var messageStarted = false
    private var ended = false
    private var nextBlock = 0
    private var openBlock: OpenBlock?
    /// Content block index of each canonical tool call index.
    private var toolBlocks: [Int: Int] = [:]

    init(model: String) {
        self.model = model
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        guard !ended else { return [] }
        switch event {
        case .start(let id, let model):
            // message_start waits for the first content so usage sent right after the start can ride along.
            self.id = id
            self.model = model
            return []
        case .usage(let usage):
            self.usage = usage
            return []
        case .textDelta(let text):
            guard !text.isEmpty else { return [] }
            var frames = startMessage()
            let block: Int
            if let open = openBlock, open.isText {
                block = open.index
            } else {
                frames += closeBlock()
                block = openNewBlock(isText: true)
                frames.append(blockStart(block, ["type": .string("text"), "text": .string("")]))
            }
            frames.append(delta(block, ["type": .string("text_delta"), "text": .string(text)]))
            return frames
        case .toolCallStart(let index, let callID, let name):
            let frames = startMessage() + closeBlock()
            let block = openNewBlock(isText: false)
            toolBlocks[index] = block
            return frames + [blockStart(block, [
                "type": .string("tool_use"), "id": .string(callID), "name": .string(name), "input": .object([:]),
            ])]
        case .toolCallArgumentsDelta(let index, let fragment):
            // A fragment for an already closed call (interleaved upstream calls) still goes to its own block index:
            // SDKs accumulate by index, and dropping it would corrupt the arguments.
            guard let block = toolBlocks[index], !fragment.isEmpty else { return [] }
            return startMessage() + [delta(block, ["type": .string("input_json_delta"), "partial_json": .string(fragment)])]
        case .finish(let reason):
            stopReason = reason
            return startMessage() + closeBlock()
        }
    }

    mutating func finish() -> [SSEFrame] {
        guard !ended else { return [] }
        ended = true
        var usageFields: [String: JSONValue] = ["output_tokens": .int(Int64(usage?.outputTokens ?? 0))]
        // Input counts are cumulative in message_delta too; upstreams that report usage only at the end need this.
        if let usage { usageFields.merge(AnthropicWire.inputUsageFields(usage)) { $1 } }
        return startMessage() + closeBlock() + [
            Self.frame("message_delta", [
                "delta": .object([
                    "stop_reason": .string(AnthropicWire.stopReason(stopReason ?? .stop)), "stop_sequence": .null,
                ]),
                "usage": .object(usageFields),
            ]),
            Self.frame("message_stop", [:]),
        ]
    }

    mutating func fail(message: String) -> [SSEFrame] {
        guard !ended else { return [] }
        ended = true
        return [Self.frame("error", ["error": .object(["type": .string("api_error"), "message": .string(message)])])]
    }

    // MARK: Frames

    private mutating func startMessage() -> [SSEFrame] {
        guard !messageStarted else { return [] }
        messageStarted = true
        var usageFields = AnthropicWire.inputUsageFields(usage ?? Usage())
        usageFields["output_tokens"] = .int(Int64(usage?.outputTokens ?? 0))
        return [Self.frame("message_start", [
            "message": .object([
                "id": .string(id.map(AnthropicWire.messageID) ?? AnthropicWire.randomMessageID()),
                "type": .string("message"),
                "role": .string("assistant"),
                "model": .string(model),
                "content": .array([]),
                "stop_reason": .null,
                "stop_sequence": .null,
                "usage": .object(usageFields),
            ]),
        ])]
    }

    /// Block indices count up across text and tool blocks alike.
    private mutating func openNewBlock(isText: Bool) -> Int {
        let index = nextBlock
        nextBlock += 1
        openBlock = OpenBlock(index: index, isText: isText)
        return index
    }

    private func blockStart(_ index: Int, _ contentBlock: [String: JSONValue]) -> SSEFrame {
        Self.frame("content_block_start", ["index": .int(Int64(index)), "content_block": .object(contentBlock)])
    }

    private mutating func closeBlock() -> [SSEFrame] {
        guard let block = openBlock else { return [] }
        openBlock = nil
        return [Self.frame("content_block_stop", ["index": .int(Int64(block.index))])]
    }

    private func delta(_ index: Int, _ delta: [String: JSONValue]) -> SSEFrame {
        Self.frame("content_block_delta", ["index": .int(Int64(index)), "delta": .object(delta)])
    }

    /// Every Anthropic frame names its type twice: in `event:` and in the data's `type`.
    static func frame(_ type: String, _ fields: [String: JSONValue]) -> SSEFrame {
        var fields = fields
        fields["type"] = .string(type)
        return SSEFrame(event: type, data: JSONText.render(.object(fields)))
    }
}
