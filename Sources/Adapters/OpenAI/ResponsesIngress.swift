import Core

/// The client format of `POST /v1/responses` (OpenAI Responses API), translated for providers without native
/// Responses support. Features that need server-side state or hosted tools are refused with a 400 rather than
/// silently dropped; the engine forwards such requests raw to providers that support them.
public struct ResponsesIngress: IngressCodec {
    private let clock: OpenAIClock

    public init(clock: OpenAIClock = .system) {
        self.clock = clock
    }

    public func decodeRequest(_ body: [String: JSONValue], model: String?, stream: Bool?) throws(APIError) -> ChatRequest {
        let fields = Fields(body)
        let modelName: String
        if let model { modelName = model } else { modelName = try fields.requiredString("model") }
        for key in ["previous_response_id", "conversation"] where fields.has(key) {
            throw fields.invalid(key, "needs a provider with native Responses support (stored conversation state)")
        }
        var reader = ResponsesInputReader()
        let instructions = try fields.string("instructions")
        try reader.read(fields)
        let bodyStream = try fields.bool("stream")
        return ChatRequest(
            model: modelName,
            system: (instructions.map { [$0] } ?? []) + reader.system,
            messages: reader.messages,
            tools: try Self.tools(fields),
            toolChoice: try Self.toolChoice(fields),
            maxOutputTokens: try Self.outputCap(fields),
            temperature: try fields.double("temperature"),
            topP: try fields.double("top_p"),
            stream: stream ?? bodyStream ?? false,
            responseFormat: try Self.textFormat(fields)
        )
    }

    public func maxOutputTokens(_ body: JSONObjectBytes) throws(APIError) -> Int? {
        try Self.outputCap(Fields(body.members(["max_output_tokens"])))
    }

    private static func outputCap(_ fields: Fields) throws(APIError) -> Int? {
        try fields.int("max_output_tokens")
    }

    public func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue {
        let object = ResponsesObject(upstreamID: response.id, createdAt: response.created, model: response.model, request: request)
        let terminal = ResponsesObject.terminal(response.finishReason)
        return object.json(
            status: terminal.status, output: object.outputItems(response.output, incomplete: terminal.incompleteReason != nil),
            usage: response.usage,
            incompleteReason: terminal.incompleteReason
        )
    }

    public func makeStreamEncoder(for request: ChatRequest) -> any StreamEncoder {
        ResponsesStreamEncoder(request: request, clock: clock)
    }

    // MARK: Request options

    static func tools(_ body: Fields) throws(APIError) -> [ToolDefinition] {
        guard let items = try body.array("tools") else { return [] }
        var tools: [ToolDefinition] = []
        for (index, item) in items.enumerated() {
            let tool = try body.element(item, of: "tools", at: index)
            let type = try tool.requiredString("type")
            guard type == "function" else {
                throw tool.invalid("type", "tool type '\(type)' needs a provider with native Responses support")
            }
            tools.append(ToolDefinition(
                name: try tool.requiredString("name"),
                description: try tool.string("description"),
                parameters: try OpenAIWire.parameters(tool)
            ))
        }
        return tools
    }

    static func toolChoice(_ body: Fields) throws(APIError) -> ToolChoice? {
        try OpenAIWire.toolChoice(body, otherType: { "tool choice '\($0)' needs a provider with native Responses support" }) {
            choice throws(APIError) in try choice.requiredString("name")
        }
    }

    static func textFormat(_ body: Fields) throws(APIError) -> ResponseFormat? {
        guard let text = try body.objectField("text"), let format = try text.objectField("format") else { return nil }
        let type = try format.requiredString("type")
        switch type {
        case "text":
            return nil
        case "json_object":
            return .jsonObject
        case "json_schema":
            return .jsonSchema(name: try format.requiredString("name"), schema: .object(try format.objectField("schema")?.object ?? [:]))
        default:
            throw format.invalid("type", "must be 'text', 'json_object' or 'json_schema'; got '\(type)'")
        }
    }
}
