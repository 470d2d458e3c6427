import Core

/// The body for an upstream Gemini `generateContent` / `streamGenerateContent?alt=sse` (the model is in the URL,
/// which the engine builds), and how we read its answers.
public struct GeminiProvider: ProviderCodec {
    private let now: @Sendable () -> Int64
    private let thoughtSignature: String?

    /// `now` gives `created` (Unix seconds), which Gemini answers lack; tests pass a fixed one.
    ///
    /// `replayedCallSignature`: Gemini 3 models reject a history whose function calls lack the `thoughtSignature`
    /// they were sent with, and canonical messages cannot carry one. Google documents dummy values
    /// (`"skip_thought_signature_validator"`) for histories that did not come from Gemini; set one for such models.
    public init(now: (@Sendable () -> Int64)? = nil, replayedCallSignature: String? = nil) {
        self.now = now ?? GeminiWire.now
        self.thoughtSignature = replayedCallSignature
    }

    public func encodeRequest(_ request: ChatRequest, upstreamModel: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "contents": .array(GeminiContentsWriter(thoughtSignature: thoughtSignature).contents(request.messages)),
        ]
        let system = request.system.filter { !$0.isEmpty }
        if !system.isEmpty {
            body["systemInstruction"] = .object(["parts": .array(system.map(GeminiWire.textPart))])
        }
        if !request.tools.isEmpty {
            body["tools"] = .array([.object(["functionDeclarations": .array(request.tools.map(Self.declaration))])])
            if let choice = request.toolChoice { body["toolConfig"] = Self.toolConfig(choice) }
        }
        let config = Self.generationConfig(request)
        if !config.isEmpty { body["generationConfig"] = .object(config) }
        return .object(body)
    }

    public func reportedUsage(_ member: (String) -> JSONValue?) -> Usage? {
        let top = JSONValue.object(["error": member("error") ?? .null])
        guard GeminiWire.errorMessage(top) == nil, let usage = member("usageMetadata"), usage != .null else { return nil }
        return GeminiWire.usage(from: usage)
    }

    public func decodeResponse(_ body: JSONValue, model: String) throws(UpstreamStreamError) -> ChatResponse {
        if let message = GeminiWire.errorMessage(body) { throw UpstreamStreamError(message) }
        guard body.objectValue != nil else { throw UpstreamStreamError("upstream answer is not a JSON object") }
        let id = body["responseId"]?.stringValue ?? GeminiWire.randomResponseID()
        let usage = body["usageMetadata"].map(GeminiWire.usage(from:)) ?? Usage()
        guard let candidate = body["candidates"]?.arrayValue?.first else {
            // A prompt blocked before generation has no candidates, only promptFeedback.blockReason.
            guard body["promptFeedback"]?["blockReason"]?.stringValue != nil else {
                throw UpstreamStreamError("upstream answer has no candidates")
            }
            return ChatResponse(id: id, model: model, created: now(), output: [], finishReason: .contentFilter, usage: usage)
        }
        var output: [OutputItem] = []
        var callCount = 0
        for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
            if part["thought"]?.boolValue == true { continue }
            if let call = part["functionCall"] {
                let id = call["id"]?.stringValue ?? GeminiWire.callID(callCount)
                callCount += 1
                output.append(.toolCall(ToolCall(
                    id: id, name: call["name"]?.stringValue ?? "", arguments: compactJSON(call["args"] ?? .object([:]))
                )))
            } else if let text = part["text"]?.stringValue {
                output.append(.text(text))
            }
        }
        return ChatResponse(
            id: id, model: model, created: now(), output: output,
            finishReason: GeminiWire.finishReason(candidate["finishReason"]?.stringValue, sawFunctionCalls: callCount > 0),
            usage: usage
        )
    }

    public func makeStreamDecoder(model: String) -> any StreamDecoder {
        GeminiStreamDecoder(model: model)
    }

    /// Canonical parameters are JSON Schema, which `parametersJsonSchema` takes as it is; `parameters` only takes
    /// an OpenAPI subset and rejects common keys such as `additionalProperties`.
    static func declaration(_ tool: ToolDefinition) -> JSONValue {
        var fields: [String: JSONValue] = ["name": .string(tool.name)]
        if let description = tool.description { fields["description"] = .string(description) }
        if case .object(let schema) = tool.parameters, !schema.isEmpty { fields["parametersJsonSchema"] = tool.parameters }
        return .object(fields)
    }

    static func toolConfig(_ choice: ToolChoice) -> JSONValue {
        let config: [String: JSONValue] = switch choice {
        case .auto: ["mode": .string("AUTO")]
        case .none: ["mode": .string("NONE")]
        case .required: ["mode": .string("ANY")]
        case .named(let name): ["mode": .string("ANY"), "allowedFunctionNames": .array([.string(name)])]
        }
        return .object(["functionCallingConfig": .object(config)])
    }

    static func generationConfig(_ request: ChatRequest) -> [String: JSONValue] {
        var config: [String: JSONValue] = [:]
        if let maxTokens = request.maxOutputTokens { config["maxOutputTokens"] = .int(Int64(maxTokens)) }
        if let temperature = request.temperature { config["temperature"] = GeminiWire.number(temperature) }
        if let topP = request.topP { config["topP"] = GeminiWire.number(topP) }
        if !request.stopSequences.isEmpty { config["stopSequences"] = .array(request.stopSequences.map(JSONValue.string)) }
        switch request.responseFormat {
        case .jsonObject:
            config["responseMimeType"] = .string("application/json")
        case .jsonSchema(_, let schema):
            config["responseMimeType"] = .string("application/json")
            // Same reason as parametersJsonSchema: the schema is JSON Schema, not Gemini's OpenAPI subset.
            config["responseJsonSchema"] = schema
        case nil:
            break
        }
        return config
    }
}
