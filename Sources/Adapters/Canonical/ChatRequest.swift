import Core

/// The gateway's own representation of a chat-style request. Every client format decodes into it and every
/// provider kind encodes from it, so N formats need N adapters rather than N×M. Same-kind traffic bypasses it
/// (the raw body is forwarded) so unknown fields survive untouched.
public struct ChatRequest: Sendable, Equatable {
    /// The model name as the client sent it (routing resolves it to a provider and upstream model).
    public var model: String
    /// System instructions, in order (OpenAI system/developer messages, Anthropic `system`, Gemini `systemInstruction`,
    /// Responses `instructions`).
    public var system: [String]
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice?
    public var maxOutputTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var stopSequences: [String]
    public var stream: Bool
    /// The client asked for usage in the stream (OpenAI `stream_options.include_usage`).
    public var streamIncludeUsage: Bool
    /// Ask for JSON output (OpenAI `response_format` json_object/json_schema; Gemini `responseMimeType`).
    public var responseFormat: ResponseFormat?

    public init(
        model: String, system: [String] = [], messages: [ChatMessage] = [], tools: [ToolDefinition] = [],
        toolChoice: ToolChoice? = nil, maxOutputTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil,
        stopSequences: [String] = [], stream: Bool = false, streamIncludeUsage: Bool = false, responseFormat: ResponseFormat? = nil
    ) {
        self.model = model
        self.system = system
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
        self.topP = topP
        self.stopSequences = stopSequences
        self.stream = stream
        self.streamIncludeUsage = streamIncludeUsage
        self.responseFormat = responseFormat
    }
}

public enum Role: String, Sendable, Equatable {
    case user
    case assistant
    /// The result of a tool call, answering `ChatMessage.toolCallId`.
    case tool
}

public struct ChatMessage: Sendable, Equatable {
    public var role: Role
    public var parts: [ContentPart]
    /// Tool calls made by the assistant in this turn.
    public var toolCalls: [ToolCall]
    /// For `role == .tool`: the id of the call this message answers.
    public var toolCallId: String?
    /// For `role == .tool`: the tool's name when known (Gemini needs it; OpenAI does not send it).
    public var toolName: String?
    /// For `role == .tool`: the tool reported an error (Anthropic `is_error`).
    public var isError: Bool

    public init(
        role: Role, parts: [ContentPart] = [], toolCalls: [ToolCall] = [], toolCallId: String? = nil, toolName: String? = nil,
        isError: Bool = false
    ) {
        self.role = role
        self.parts = parts
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
        self.toolName = toolName
        self.isError = isError
    }

    /// The text parts joined, for formats that take plain text.
    public var text: String {
        parts.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
    }
}

public enum ContentPart: Sendable, Equatable {
    case text(String)
    case image(ImageSource)
}

public enum ImageSource: Sendable, Equatable {
    /// An http(s) URL the provider fetches.
    case url(String)
    /// Inline data: media type (e.g. `image/png`) and base64 without the `data:` prefix.
    case base64(mediaType: String, data: String)

    /// Parses `data:image/png;base64,AAAA` into `.base64`, anything else into `.url`.
    public static func fromURL(_ url: String) -> ImageSource {
        if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") {
            let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count))
            return .base64(mediaType: mediaType.isEmpty ? "application/octet-stream" : mediaType, data: String(url[url.index(after: comma)...]))
        }
        return .url(url)
    }

    /// The `data:` URL form (OpenAI accepts both kinds as `image_url.url`).
    public var urlString: String {
        switch self {
        case .url(let u): u
        case .base64(let mediaType, let data): "data:\(mediaType);base64,\(data)"
        }
    }
}

public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The arguments as JSON text (OpenAI carries text; Anthropic/Gemini objects are serialised).
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// JSON Schema of the arguments.
    public var parameters: JSONValue

    public init(name: String, description: String?, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

public enum ToolChoice: Sendable, Equatable {
    case auto
    case none
    /// The model must call some tool.
    case required
    case named(String)
}

public enum ResponseFormat: Sendable, Equatable {
    case jsonObject
    case jsonSchema(name: String, schema: JSONValue)
}
