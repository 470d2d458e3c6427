import Core

/// Builds the Responses API `response` object and its output items. The complete answer and every streamed
/// lifecycle event use it, so both have the same shape.
struct ResponsesObject: Sendable {
    let id: String
    let createdAt: Int64
    let model: String
    let request: ChatRequest

    /// Ids in the formats clients see from OpenAI (`resp_…`, `msg_…`, `fc_…`), derived from the upstream id so one
    /// answer's ids belong together; an output index keeps item ids unique.
    init(upstreamID: String, createdAt: Int64, model: String, request: ChatRequest) {
        var base = Substring(upstreamID)
        for prefix in ["resp_", "chatcmpl-", "msg_"] where base.hasPrefix(prefix) {
            base = base.dropFirst(prefix.count)
        }
        id = "resp_" + base
        self.createdAt = createdAt
        self.model = model
        self.request = request
    }

    var idBase: Substring { id.dropFirst("resp_".count) }

    func messageItemID(outputIndex: Int) -> String { "msg_\(idBase)_\(outputIndex)" }
    func functionCallItemID(outputIndex: Int) -> String { "fc_\(idBase)_\(outputIndex)" }

    /// Terminal status for a finish reason: length and content filtering end a response as incomplete.
    static func terminal(_ reason: FinishReason?) -> (status: String, incompleteReason: String?) {
        switch reason {
        case .length?: ("incomplete", "max_output_tokens")
        case .contentFilter?: ("incomplete", "content_filter")
        default: ("completed", nil)
        }
    }

    func json(
        status: String, output: [JSONValue], usage: Usage?, incompleteReason: String? = nil, error: JSONValue = .null
    ) -> JSONValue {
        .object([
            "id": .string(id),
            "object": .string("response"),
            "created_at": .int(createdAt),
            "status": .string(status),
            "error": error,
            "incomplete_details": incompleteReason.map { .object(["reason": .string($0)]) } ?? .null,
            "model": .string(model),
            "output": .array(output),
            "output_text": .string(Self.outputText(output)),
            "usage": usage.map(OpenAIWire.responsesUsage) ?? .null,
            // Echoes of the request, as the Responses API returns them.
            "instructions": request.system.isEmpty ? .null : .string(request.system.joined(separator: "\n\n")),
            "max_output_tokens": OpenAIWire.optional(request.maxOutputTokens),
            "temperature": OpenAIWire.optional(request.temperature),
            "top_p": OpenAIWire.optional(request.topP),
            "tools": .array(request.tools.map(Self.tool)),
            "tool_choice": Self.toolChoice(request.toolChoice ?? .auto),
            "parallel_tool_calls": .bool(true),
            "text": .object(["format": Self.textFormat(request.responseFormat)]),
            "metadata": .object([:]),
        ])
    }

    // MARK: Output items

    static func messageItem(id: String, text: String, status: String) -> JSONValue {
        .object([
            "id": .string(id),
            "type": .string("message"),
            "role": .string("assistant"),
            "status": .string(status),
            "content": .array([outputTextPart(text)]),
        ])
    }

    static func outputTextPart(_ text: String) -> JSONValue {
        .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([])])
    }

    static func functionCallItem(id: String, callID: String, name: String, arguments: String, status: String) -> JSONValue {
        .object([
            "id": .string(id),
            "type": .string("function_call"),
            "call_id": .string(callID),
            "name": .string(name),
            "arguments": .string(arguments),
            "status": .string(status),
        ])
    }

    /// Items for a complete answer: consecutive text joins into one message item, each tool call is its own item.
    /// In an incomplete answer the last item is the one that was cut short.
    func outputItems(_ output: [OutputItem], incomplete: Bool) -> [JSONValue] {
        var items: [JSONValue] = []
        var pendingText: String?
        func flushText() {
            if let text = pendingText {
                items.append(Self.messageItem(id: messageItemID(outputIndex: items.count), text: text, status: "completed"))
            }
            pendingText = nil
        }
        for item in output {
            switch item {
            case .text(let text):
                pendingText = (pendingText ?? "") + text
            case .toolCall(let call):
                flushText()
                items.append(Self.functionCallItem(
                    id: functionCallItemID(outputIndex: items.count), callID: call.id, name: call.name,
                    arguments: call.arguments, status: "completed"
                ))
            }
        }
        flushText()
        if incomplete, let last = items.indices.last, case .object(var item) = items[last] {
            item["status"] = .string("incomplete")
            items[last] = .object(item)
        }
        return items
    }

    /// The SDKs' `output_text` convenience: all output text joined.
    static func outputText(_ output: [JSONValue]) -> String {
        output.filter { $0["type"]?.stringValue == "message" }
            .flatMap { $0["content"]?.arrayValue ?? [] }
            .compactMap { $0["type"]?.stringValue == "output_text" ? $0["text"]?.stringValue : nil }
            .joined()
    }

    // MARK: Request echoes

    static func tool(_ tool: ToolDefinition) -> JSONValue {
        .object([
            "type": .string("function"),
            "name": .string(tool.name),
            "description": OpenAIWire.optional(tool.description),
            "parameters": tool.parameters,
        ])
    }

    static func toolChoice(_ choice: ToolChoice) -> JSONValue {
        switch choice {
        case .auto: .string("auto")
        case .none: .string("none")
        case .required: .string("required")
        case .named(let name): .object(["type": .string("function"), "name": .string(name)])
        }
    }

    static func textFormat(_ format: ResponseFormat?) -> JSONValue {
        switch format {
        case nil: .object(["type": .string("text")])
        case .jsonObject?: .object(["type": .string("json_object")])
        case .jsonSchema(let name, let schema)?:
            .object(["type": .string("json_schema"), "name": .string(name), "schema": schema])
        }
    }
}
