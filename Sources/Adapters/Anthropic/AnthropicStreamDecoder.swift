import Core

/// Anthropic Messages SSE (`message_start`, `content_block_*`, `message_delta`, `message_stop`, `error`) as
/// canonical stream events.
struct AnthropicStreamDecoder: StreamDecoder {
    private let model: String
    private var counts = AnthropicWire.TokenCounts()
    /// Canonical tool call index of each content block that is a tool_use.
    private var toolIndexByBlock: [Int: Int] = [:]
    private var nextToolIndex = 0
    private(set) var isComplete = false

    init(model: String) {
        self.model = model
    }

    mutating func decode(_ frame: SSEFrame) throws(UpstreamStreamError) -> [StreamEvent] {
        // Pings carry `{"type": "ping"}`, but nothing else matters about them either way.
        if frame.event == "ping" { return [] }
        let json = try AnthropicWire.frameJSON(frame)
        // The data's `type` is authoritative; `event:` is a copy that proxies sometimes drop.
        let type = json["type"]?.stringValue ?? frame.event
        switch type {
        case "message_start":
            let message = json["message"]
            counts.update(from: message?["usage"])
            return [
                .start(id: message?["id"]?.stringValue ?? AnthropicWire.randomMessageID(), model: model),
                .usage(counts.usage),
            ]
        case "content_block_start":
            return contentBlockStart(json)
        case "content_block_delta":
            return contentBlockDelta(json)
        case "message_delta":
            var events: [StreamEvent] = []
            if let reason = json["delta"]?["stop_reason"]?.stringValue {
                events.append(.finish(AnthropicWire.finishReason(reason)))
            }
            if let usage = json["usage"], usage != .null {
                // output_tokens is cumulative; input counts from message_start stand unless repeated here.
                counts.update(from: usage)
                events.append(.usage(counts.usage))
            }
            return events
        case "message_stop":
            isComplete = true
            return []
        case "error":
            throw UpstreamStreamError(AnthropicWire.errorMessage(json) ?? "upstream stream error")
        default:
            // content_block_stop, ping and event types added after this was written carry nothing we use.
            return []
        }
    }

    private mutating func contentBlockStart(_ json: JSONValue) -> [StreamEvent] {
        guard let block = json["content_block"], let blockIndex = json["index"]?.intValue.map({ Int($0) }) else { return [] }
        switch block["type"]?.stringValue {
        case "text":
            // Text normally starts empty and arrives in deltas, but a non-empty start is still text.
            guard let text = block["text"]?.stringValue, !text.isEmpty else { return [] }
            return [.textDelta(text)]
        case "tool_use":
            let index = nextToolIndex
            nextToolIndex += 1
            toolIndexByBlock[blockIndex] = index
            return [.toolCallStart(
                index: index, id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? ""
            )]
        default:
            // thinking blocks and server tool blocks have no canonical form.
            return []
        }
    }

    private func contentBlockDelta(_ json: JSONValue) -> [StreamEvent] {
        guard let delta = json["delta"] else { return [] }
        switch delta["type"]?.stringValue {
        case "text_delta":
            guard let text = delta["text"]?.stringValue, !text.isEmpty else { return [] }
            return [.textDelta(text)]
        case "input_json_delta":
            guard let blockIndex = json["index"]?.intValue.map({ Int($0) }), let index = toolIndexByBlock[blockIndex],
                  let fragment = delta["partial_json"]?.stringValue, !fragment.isEmpty
            else { return [] }
            return [.toolCallArgumentsDelta(index: index, fragment: fragment)]
        default:
            // thinking_delta, signature_delta, citations_delta.
            return []
        }
    }
}
