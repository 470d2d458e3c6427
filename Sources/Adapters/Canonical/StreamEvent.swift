import Core

/// What happens in a streamed answer, in the gateway's own form. Provider stream decoders produce these;
/// client stream encoders consume them.
public enum StreamEvent: Sendable, Equatable {
    /// The answer begins (first event of every stream).
    case start(id: String, model: String)
    case textDelta(String)
    /// A tool call begins; `index` numbers calls within the answer from 0.
    case toolCallStart(index: Int, id: String, name: String)
    case toolCallArgumentsDelta(index: Int, fragment: String)
    /// The model stopped (usage may follow).
    case finish(FinishReason)
    /// Usage so far; later events supersede earlier ones (take the last).
    case usage(Usage)
}

/// Turns a provider's SSE frames into stream events. Stateful: one per upstream stream.
public protocol StreamDecoder: Sendable {
    /// Events from one frame. Throws `UpstreamStreamError` when the provider sends an error event.
    mutating func decode(_ frame: SSEFrame) throws(UpstreamStreamError) -> [StreamEvent]
    /// Whether the provider signalled a complete end (e.g. `[DONE]`, `message_stop`, a final `finishReason`).
    var isComplete: Bool { get }
}

/// Turns stream events into the client's SSE frames. Stateful: one per client stream.
public protocol StreamEncoder: Sendable {
    mutating func encode(_ event: StreamEvent) -> [SSEFrame]
    /// Frames that close a completed stream (e.g. `data: [DONE]`, `message_stop`, `response.completed`).
    mutating func finish() -> [SSEFrame]
    /// Frames that end the stream after a failure once output has begun — never a silent clean end
    /// (OpenAI: an error object then `[DONE]`; Anthropic: `event: error`; Responses: `response.failed`).
    mutating func fail(message: String) -> [SSEFrame]
}

/// An error reported by the provider inside a stream.
public struct UpstreamStreamError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
