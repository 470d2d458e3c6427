import Core

/// A complete (non-streamed) answer in the gateway's own form.
public struct ChatResponse: Sendable, Equatable {
    public var id: String
    /// The model name to report to the client (the one it asked for).
    public var model: String
    /// Unix seconds.
    public var created: Int64
    /// Text and tool calls in the order the model produced them.
    public var output: [OutputItem]
    public var finishReason: FinishReason
    public var usage: Usage

    public init(id: String, model: String, created: Int64, output: [OutputItem], finishReason: FinishReason, usage: Usage) {
        self.id = id
        self.model = model
        self.created = created
        self.output = output
        self.finishReason = finishReason
        self.usage = usage
    }

    public var text: String {
        output.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
    }

    public var toolCalls: [ToolCall] {
        output.compactMap { if case .toolCall(let c) = $0 { c } else { nil } }
    }
}

public enum OutputItem: Sendable, Equatable {
    case text(String)
    case toolCall(ToolCall)
}

public enum FinishReason: Sendable, Equatable {
    /// Natural end or a stop sequence.
    case stop
    /// Hit the output token limit.
    case length
    /// Stopped to call tools.
    case toolCalls
    case contentFilter
    /// Anything else, with the provider's word for it.
    case other(String)
}

/// Token usage normalised across providers. `inputTokens` includes cached input; `outputTokens` includes reasoning.
public struct Usage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cachedInputTokens: Int
    public var reasoningTokens: Int

    public init(inputTokens: Int = 0, outputTokens: Int = 0, cachedInputTokens: Int = 0, reasoningTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.reasoningTokens = reasoningTokens
    }

    public var totalTokens: Int { inputTokens + outputTokens }
}
