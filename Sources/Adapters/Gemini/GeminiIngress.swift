import Core

/// The client format of `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
/// (Google Generative Language API). The model and whether to stream come from the URL.
public struct GeminiIngress: IngressCodec {
    public init() {}

    public func decodeRequest(_ body: [String: JSONValue], model: String?, stream: Bool?) throws(APIError) -> ChatRequest {
        guard let model, !model.isEmpty else {
            throw .badRequest("the model is required in the path (models/{model}:generateContent)", param: "model", code: "missing_field")
        }
        let fields = Fields(body)
        let contentsKey = GeminiWire.key(fields, "contents")
        guard let contents = try fields.array(contentsKey) else { throw GeminiWire.missing(fields, contentsKey) }
        guard !contents.isEmpty else { throw fields.invalid(contentsKey, "must contain at least one content") }
        var reader = GeminiContentsReader()
        for (index, item) in contents.enumerated() {
            try reader.read(try fields.element(item, of: contentsKey, at: index))
        }

        var request = ChatRequest(model: model, messages: reader.messages, stream: stream ?? false)
        request.system = try system(fields)
        request.tools = try tools(fields)
        request.toolChoice = try toolChoice(fields)
        if let config = try fields.objectField(GeminiWire.key(fields, "generationConfig")) {
            request.maxOutputTokens = try Self.maxOutputTokens(config)
            request.temperature = try config.double("temperature")
            request.topP = try config.double(GeminiWire.key(config, "topP"))
            request.stopSequences = try config.stringOrStrings(GeminiWire.key(config, "stopSequences"))
            request.responseFormat = try responseFormat(config)
        }
        return request
    }

    public func maxOutputTokens(_ body: JSONObjectBytes) throws(APIError) -> Int? {
        let fields = Fields(body.members(["generationConfig", "generation_config"]))
        guard let config = try fields.objectField(GeminiWire.key(fields, "generationConfig")) else { return nil }
        return try Self.maxOutputTokens(config)
    }

    private static func maxOutputTokens(_ config: Fields) throws(APIError) -> Int? {
        try config.int(GeminiWire.key(config, "maxOutputTokens"))
    }

    public func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue {
        var parts: [JSONValue] = []
        for item in response.output {
            switch item {
            case .text(let text) where text.isEmpty: continue
            case .text(let text): parts.append(GeminiWire.textPart(text))
            case .toolCall(let call): parts.append(GeminiWire.functionCallPart(name: call.name, arguments: call.arguments))
            }
        }
        return .object([
            "candidates": .array([.object([
                "content": .object(["role": .string("model"), "parts": .array(parts)]),
                "finishReason": .string(GeminiWire.finishReasonName(response.finishReason)),
                "index": .int(0),
            ])]),
            "usageMetadata": GeminiWire.usageMetadata(response.usage),
            "modelVersion": .string(response.model),
            "responseId": .string(response.id),
        ])
    }

    public func makeStreamEncoder(for request: ChatRequest) -> any StreamEncoder {
        GeminiStreamEncoder(model: request.model)
    }

    /// `systemInstruction`: a Content whose text parts are the instructions.
    private func system(_ fields: Fields) throws(APIError) -> [String] {
        guard let instruction = try fields.objectField(GeminiWire.key(fields, "systemInstruction")) else { return [] }
        var system: [String] = []
        for (index, item) in (try instruction.array("parts") ?? []).enumerated() {
            let part = try instruction.element(item, of: "parts", at: index)
            guard let text = try part.string("text") else { throw GeminiWire.missing(part, "text") }
            if !text.isEmpty { system.append(text) }
        }
        return system
    }

    /// Function declarations; other tool kinds (googleSearch, codeExecution…) run inside Google and are skipped.
    private func tools(_ fields: Fields) throws(APIError) -> [ToolDefinition] {
        var tools: [ToolDefinition] = []
        for (index, item) in (try fields.array("tools") ?? []).enumerated() {
            let tool = try fields.element(item, of: "tools", at: index)
            let declarationsKey = GeminiWire.key(tool, "functionDeclarations")
            for (position, entry) in (try tool.array(declarationsKey) ?? []).enumerated() {
                let declaration = try tool.element(entry, of: declarationsKey, at: position)
                tools.append(ToolDefinition(
                    name: try declaration.requiredString("name"),
                    description: try declaration.string("description"),
                    parameters: try parameters(declaration)
                ))
            }
        }
        return tools
    }

    /// `parameters` (OpenAPI subset) or `parametersJsonSchema` (JSON Schema); neither means no arguments.
    private func parameters(_ declaration: Fields) throws(APIError) -> JSONValue {
        if let schema = try declaration.objectField(GeminiWire.key(declaration, "parametersJsonSchema")) {
            return .object(schema.object)
        }
        if let schema = try declaration.objectField("parameters") {
            return GeminiWire.jsonSchema(fromOpenAPI: .object(schema.object))
        }
        return .object(["type": .string("object"), "properties": .object([:])])
    }

    private func toolChoice(_ fields: Fields) throws(APIError) -> ToolChoice? {
        guard let toolConfig = try fields.objectField(GeminiWire.key(fields, "toolConfig")),
              let config = try toolConfig.objectField(GeminiWire.key(toolConfig, "functionCallingConfig")),
              let mode = try config.string("mode")
        else { return nil }
        let allowed = try config.stringOrStrings(GeminiWire.key(config, "allowedFunctionNames"))
        switch mode.uppercased() {
        case "AUTO", "MODE_UNSPECIFIED": return .auto
        // VALIDATED lets the model choose between text and calls like AUTO, only with schema-checked arguments.
        case "VALIDATED": return .auto
        case "ANY": return allowed.count == 1 ? .named(allowed[0]) : .required
        case "NONE": return ToolChoice.none
        default: throw config.invalid("mode", "must be AUTO, ANY, NONE or VALIDATED, got '\(mode)'")
        }
    }

    /// JSON output: `responseMimeType: application/json`, optionally with a schema.
    private func responseFormat(_ config: Fields) throws(APIError) -> ResponseFormat? {
        guard try config.string(GeminiWire.key(config, "responseMimeType")) == "application/json" else { return nil }
        if let schema = try config.objectField(GeminiWire.key(config, "responseJsonSchema")) {
            return .jsonSchema(name: "response", schema: .object(schema.object))
        }
        if let schema = try config.objectField(GeminiWire.key(config, "responseSchema")) {
            return .jsonSchema(name: "response", schema: GeminiWire.jsonSchema(fromOpenAPI: .object(schema.object)))
        }
        return .jsonObject
    }
}
