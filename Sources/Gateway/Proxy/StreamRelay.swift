import Adapters
import Core
import NIOCore

/// Turns upstream SSE bytes into the client's stream as they arrive, capturing usage on the way.
/// Passthrough relays the upstream bytes untouched (or frame by frame when a chunk must be removed);
/// translation decodes provider events and re-encodes them in the client's protocol.
struct StreamRelay: Sendable {
    enum Mode: Sendable {
        case raw
        case filtered
        case translated(any StreamEncoder)
    }

    private var parser = SSEParser()
    private var decoder: any StreamDecoder
    private var mode: Mode
    /// For the closing error event when something goes wrong mid-stream.
    private var failureEncoder: any StreamEncoder
    private(set) var usage: Usage?
    private(set) var upstreamError: String?
    /// Text and tool-argument characters produced so far: the output estimate when a stream ends without usage.
    private(set) var outputCharacters = 0
    /// Session context: the first `snippetLimit` characters of the answer's text (0 keeps nothing).
    var snippetLimit = 0
    private(set) var outputSnippet = ""
    private var snippetCharacters = 0
    private let format: IngressFormat

    init(call: PreparedCall, format: IngressFormat, request: ChatRequest, clientModel: String) {
        let providerDecoder: any StreamDecoder =
            call.passthrough && format == .responses
            ? ResponsesPassthroughDecoder() : call.candidate.provider.kind.codec.makeStreamDecoder(model: clientModel)
        decoder = providerDecoder
        self.format = format
        let encoder = format.codec.makeStreamEncoder(for: request)
        failureEncoder = encoder
        if !call.passthrough {
            mode = .translated(encoder)
        } else {
            mode = call.stripUsageChunk ? .filtered : .raw
        }
    }

    var isComplete: Bool { decoder.isComplete || upstreamError != nil }

    /// Bytes to send the client for one upstream chunk.
    mutating func consume(_ chunk: ByteBuffer) throws(UpstreamStreamError) -> ByteBuffer? {
        let frames = parser.feed(chunk.readableBytesView)
        switch mode {
        case .raw:
            for frame in frames { observe(frame) }
            return chunk
        case .filtered:
            var out = ""
            for frame in frames {
                observe(frame)
                if !Self.isUsageOnlyChunk(frame) { out += frame.serialized }
            }
            return out.isEmpty ? nil : ByteBuffer(string: out)
        case .translated:
            let out = try translate(frames)
            return out.isEmpty ? nil : ByteBuffer(string: out)
        }
    }

    private mutating func translate(_ frames: [SSEFrame]) throws(UpstreamStreamError) -> String {
        guard case .translated(var encoder) = mode else { return "" }
        var out = ""
        for frame in frames {
            for event in try decoder.decode(frame) {
                count(event)
                out += encoder.encode(event).map(\.serialized).joined()
            }
        }
        mode = .translated(encoder)
        return out
    }

    /// Passthrough: the client gets the provider's own frames, including its error events; we only watch.
    private mutating func observe(_ frame: SSEFrame) {
        do {
            for event in try decoder.decode(frame) { count(event) }
        } catch {
            upstreamError = error.message
        }
    }

    private mutating func count(_ event: StreamEvent) {
        switch event {
        case .usage(let u): usage = u
        case .textDelta(let text):
            let count = text.count
            outputCharacters += count
            if snippetCharacters < snippetLimit {
                outputSnippet += text.prefix(snippetLimit - snippetCharacters)
                snippetCharacters += min(count, snippetLimit - snippetCharacters)
            }
        case .toolCallArgumentsDelta(_, let fragment): outputCharacters += fragment.count
        default: break
        }
    }

    /// What is left once the upstream ended: closing frames when it completed, otherwise it must be failed.
    mutating func finish() throws(UpstreamStreamError) -> ByteBuffer? {
        let rest = parser.finish()
        switch mode {
        case .raw, .filtered:
            for frame in rest { observe(frame) }
            return nil
        case .translated:
            var out = try translate(rest)
            guard case .translated(var encoder) = mode else { return nil }
            if decoder.isComplete { out += encoder.finish().map(\.serialized).joined() }
            mode = .translated(encoder)
            return out.isEmpty ? nil : ByteBuffer(string: out)
        }
    }

    /// After a relayed upstream error event: OpenAI chat clients still expect `[DONE]` to close the stream
    /// (the other protocols' error events are terminal by themselves).
    func terminatorAfterRelayedError() -> ByteBuffer? {
        guard upstreamError != nil, format == .chatCompletions, !decoder.isComplete else { return nil }
        return ByteBuffer(string: SSEFrame(data: "[DONE]").serialized)
    }

    /// Frames that end the client's stream with an explicit error in its protocol.
    mutating func fail(_ message: String) -> ByteBuffer {
        let frames: [SSEFrame]
        switch mode {
        case .translated(var encoder):
            frames = encoder.fail(message: message)
            mode = .translated(encoder)
        case .raw, .filtered:
            frames = failureEncoder.fail(message: message)
        }
        return ByteBuffer(string: frames.map(\.serialized).joined())
    }

    /// `{"choices":[],"usage":{…}}`: the chunk OpenAI sends for `include_usage`.
    static func isUsageOnlyChunk(_ frame: SSEFrame) -> Bool {
        guard containsUsageKey(frame.data), let json = try? JSONText.parse(frame.data.utf8) else { return false }
        return json["choices"]?.arrayValue?.isEmpty == true && json["usage"] != nil && json["usage"] != .null
    }

    /// A byte search for `"usage"`: Foundation's `String.contains` was a visible cost on every relayed frame.
    private static func containsUsageKey(_ text: String) -> Bool {
        let key: StaticString = "\"usage\""
        let needle = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        var text = text
        return text.withUTF8 { haystack in
            guard haystack.count >= needle.count else { return false }
            return (0...(haystack.count - needle.count)).contains { start in
                haystack[start] == needle[0] && UnsafeBufferPointer(rebasing: haystack[start..<(start + needle.count)]).elementsEqual(needle)
            }
        }
    }
}

/// Watches a native Responses stream for completion, failure and usage.
struct ResponsesPassthroughDecoder: StreamDecoder {
    private(set) var isComplete = false

    mutating func decode(_ frame: SSEFrame) throws(UpstreamStreamError) -> [StreamEvent] {
        guard let json = try? JSONText.parse(frame.data.utf8), let type = json["type"]?.stringValue ?? frame.event else { return [] }
        switch type {
        case "response.completed", "response.incomplete":
            isComplete = true
            return ResponsesUsage.read(json["response"]).map { [.usage($0)] } ?? []
        case "response.output_text.delta":
            return json["delta"]?.stringValue.map { [.textDelta($0)] } ?? []
        case "response.function_call_arguments.delta":
            return json["delta"]?.stringValue.map { [.toolCallArgumentsDelta(index: 0, fragment: $0)] } ?? []
        case "response.failed", "error":
            isComplete = true
            throw UpstreamStreamError(json["response"]?["error"]?["message"]?.stringValue ?? json["message"]?.stringValue ?? "response failed")
        default:
            return []
        }
    }
}

/// Usage and text of a native Responses API `response` object.
enum ResponsesUsage {
    /// The `output_text` parts of its message items, joined.
    static func outputText(_ response: JSONValue) -> String {
        (response["output"]?.arrayValue ?? []).flatMap { $0["content"]?.arrayValue ?? [] }
            .compactMap { $0["type"]?.stringValue == "output_text" ? $0["text"]?.stringValue : nil }
            .joined()
    }

    static func read(_ response: JSONValue?) -> Usage? {
        guard let usage = response?["usage"], usage != .null else { return nil }
        return Usage(
            inputTokens: Int(usage["input_tokens"]?.intValue ?? 0),
            outputTokens: Int(usage["output_tokens"]?.intValue ?? 0),
            cachedInputTokens: Int(usage["input_tokens_details"]?["cached_tokens"]?.intValue ?? 0),
            reasoningTokens: Int(usage["output_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
        )
    }
}
