import Adapters
import Core
import NIOCore

/// The client-facing API a request came in on.
public enum IngressFormat: String, Sendable {
    case chatCompletions = "chat"
    case responses
    case anthropicMessages = "messages"
    case gemini

    var codec: any IngressCodec {
        switch self {
        case .chatCompletions: OpenAIChatIngress()
        case .responses: ResponsesIngress()
        case .anthropicMessages: AnthropicIngress()
        case .gemini: GeminiIngress()
        }
    }

    /// Same protocol on both sides: the raw body is forwarded (model replaced) and the answer relayed untouched,
    /// so fields the gateway does not know survive.
    func isPassthrough(to provider: ProviderSettings) -> Bool {
        switch (self, provider.kind) {
        case (.chatCompletions, .openai), (.anthropicMessages, .anthropic), (.gemini, .gemini): true
        case (.responses, .openai): provider.responsesPath != nil
        default: false
        }
    }
}

extension ProviderKind {
    var codec: any ProviderCodec {
        switch self {
        case .openai: OpenAIChatProvider()
        case .anthropic: AnthropicProvider()
        case .gemini: GeminiProvider()
        }
    }
}

/// One prepared upstream call.
struct PreparedCall: Sendable {
    let candidate: Candidate
    let key: UpstreamKey
    let path: String
    /// The bytes sent.
    let body: ByteBuffer
    let passthrough: Bool
    /// Passthrough of an OpenAI chat stream whose client did not ask for usage: the usage-only chunk the gateway
    /// requested for itself is removed before relaying.
    let stripUsageChunk: Bool
}
