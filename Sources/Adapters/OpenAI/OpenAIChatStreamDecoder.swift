import Core

/// Reads `chat.completion.chunk` frames from an OpenAI-compatible upstream into stream events.
struct OpenAIChatStreamDecoder: StreamDecoder {
    private let model: String
    private var started = false
    private(set) var isComplete = false
    /// Upstream tool-call index → (canonical index, call id). Canonical indexes count calls from 0 in arrival order.
    private var calls: [Int: (index: Int, id: String)] = [:]
    private var callCount = 0
    private var lastUpstreamIndex: Int?

    init(model: String) {
        self.model = model
    }

    mutating func decode(_ frame: SSEFrame) throws(UpstreamStreamError) -> [StreamEvent] {
        let data = frame.data
        if data == "[DONE]" {
            isComplete = true
            return []
        }
        if data.isEmpty { return [] }
        guard let chunk = try? JSONText.parse(data.utf8), chunk.objectValue != nil else {
            throw UpstreamStreamError("upstream sent a stream chunk that is not a JSON object")
        }
        if let error = chunk["error"], error != .null { throw UpstreamStreamError(OpenAIWire.errorMessage(error)) }

        var events: [StreamEvent] = []
        if !started {
            started = true
            // Azure's first chunk (prompt filter results) carries an empty id.
            let id = chunk["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? OpenAIWire.randomID("chatcmpl-")
            events.append(.start(id: id, model: model))
        }
        let choices = chunk["choices"]?.arrayValue ?? []
        // Only the first choice: the gateway does not ask for `n` > 1.
        if let choice = choices.first(where: { ($0["index"]?.intValue ?? 0) == 0 }) {
            if let delta = choice["delta"] {
                if let text = delta["content"]?.stringValue, !text.isEmpty { events.append(.textDelta(text)) }
                for call in delta["tool_calls"]?.arrayValue ?? [] { events += toolCallEvents(call) }
            }
            if let reason = choice["finish_reason"]?.stringValue {
                events.append(.finish(OpenAIWire.finishReason(fromText: reason)))
            }
        }
        if let usage = chunk["usage"], usage.objectValue != nil {
            events.append(.usage(OpenAIWire.usage(fromChat: usage)))
        }
        return events
    }

    /// A call starts when its index is new, or when a known index arrives with a different id (some servers
    /// number every call 0). The first fragment may ride along with the start.
    private mutating func toolCallEvents(_ call: JSONValue) -> [StreamEvent] {
        let id = call["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let name = call["function"]?["name"]?.stringValue
        let upstreamIndex = call["index"]?.intValue.map { Int($0) } ?? (id == nil ? lastUpstreamIndex : nil) ?? callCount
        lastUpstreamIndex = upstreamIndex
        var events: [StreamEvent] = []
        let known = calls[upstreamIndex]
        if known == nil || (id != nil && id != known?.id) {
            let callId = id ?? "call_\(callCount)"
            calls[upstreamIndex] = (callCount, callId)
            events.append(.toolCallStart(index: callCount, id: callId, name: name ?? ""))
            callCount += 1
        }
        if let fragment = Self.argumentsFragment(call["function"]?["arguments"]),
           let index = calls[upstreamIndex]?.index {
            events.append(.toolCallArgumentsDelta(index: index, fragment: fragment))
        }
        return events
    }

    private static func argumentsFragment(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)? where !text.isEmpty: text
        // Some compatible servers send the whole arguments object in one chunk.
        case .object?: value.map(compactJSON)
        default: nil
        }
    }
}
