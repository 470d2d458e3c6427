/// The upstream protocols the gateway speaks.
public enum ProviderKind: String, Sendable, CaseIterable, Codable {
    /// Any OpenAI-compatible API (chat completions; Responses where supported; embeddings; images).
    case openai
    /// Anthropic Messages API.
    case anthropic
    /// Google Gemini (Generative Language API).
    case gemini

    var defaultModelsPath: String {
        switch self {
        case .openai, .anthropic: "/v1/models"
        case .gemini: "/v1beta/models"
        }
    }

    /// The header that carries the upstream key, and whether it is `Bearer`-prefixed.
    var defaultAuthHeader: String {
        switch self {
        case .openai: "authorization"
        case .anthropic: "x-api-key"
        case .gemini: "x-goog-api-key"
        }
    }
}
