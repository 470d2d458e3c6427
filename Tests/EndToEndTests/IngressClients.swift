import Core
import Foundation
import TestSupport

/// Builds requests and reads answers the way each official SDK's wire format does, for end-to-end tests.
enum Ingress: String, CaseIterable, Sendable, CustomStringConvertible {
    case chat, responses, messages, gemini
    var description: String { rawValue }

    struct Turn {
        var text = ""
        var toolName: String?
        var toolArguments = ""
        var finish: String?
        /// The stream ended with its protocol's completion signal.
        var completed = false
        var error: String?
    }

    static let weatherTool = (name: "get_weather", description: "Current weather for a city",
        schema: JSONValue.object(["type": .string("object"), "properties": .object(["city": .object(["type": .string("string")])]), "required": .array([.string("city")])]))
    static let imageData = "iVBORw0KGgoAAAANSUhEUg=="

    /// Path and body for one request; `toolResult` continues a conversation after a `get_weather` call.
    func request(model: String, prompt: String, stream: Bool, tools: Bool = false, image: Bool = false, toolResult: String? = nil) -> (String, JSONValue) {
        let s = JSONValue.string
        switch self {
        case .chat:
            var content: JSONValue = s(prompt)
            if image { content = .array([.object(["type": s("text"), "text": s(prompt)]), .object(["type": s("image_url"), "image_url": .object(["url": s("data:image/png;base64,\(Self.imageData)")])])]) }
            var messages: [JSONValue] = [.object(["role": s("system"), "content": s("Be brief.")]), .object(["role": s("user"), "content": content])]
            if let toolResult {
                messages.append(.object(["role": s("assistant"), "content": .null, "tool_calls": .array([.object([
                    "id": s("call_1"), "type": s("function"), "function": .object(["name": s(Self.weatherTool.name), "arguments": s(#"{"city":"Paris"}"#)]),
                ])])]))
                messages.append(.object(["role": s("tool"), "tool_call_id": s("call_1"), "content": s(toolResult)]))
            }
            var body: [String: JSONValue] = ["model": s(model), "messages": .array(messages), "stream": .bool(stream), "max_tokens": .int(100)]
            if tools { body["tools"] = .array([.object(["type": s("function"), "function": .object(["name": s(Self.weatherTool.name), "description": s(Self.weatherTool.description), "parameters": Self.weatherTool.schema])])]) }
            return ("/v1/chat/completions", .object(body))
        case .responses:
            var parts: [JSONValue] = [.object(["type": s("input_text"), "text": s(prompt)])]
            if image { parts.append(.object(["type": s("input_image"), "image_url": s("data:image/png;base64,\(Self.imageData)")])) }
            var input: [JSONValue] = [.object(["role": s("user"), "content": .array(parts)])]
            if let toolResult {
                input.append(.object(["type": s("function_call"), "call_id": s("call_1"), "name": s(Self.weatherTool.name), "arguments": s(#"{"city":"Paris"}"#)]))
                input.append(.object(["type": s("function_call_output"), "call_id": s("call_1"), "output": s(toolResult)]))
            }
            var body: [String: JSONValue] = ["model": s(model), "instructions": s("Be brief."), "input": .array(input), "stream": .bool(stream), "max_output_tokens": .int(100)]
            if tools { body["tools"] = .array([.object(["type": s("function"), "name": s(Self.weatherTool.name), "description": s(Self.weatherTool.description), "parameters": Self.weatherTool.schema])]) }
            return ("/v1/responses", .object(body))
        case .messages:
            var content: JSONValue = s(prompt)
            if image { content = .array([.object(["type": s("text"), "text": s(prompt)]), .object(["type": s("image"), "source": .object(["type": s("base64"), "media_type": s("image/png"), "data": s(Self.imageData)])])]) }
            var messages: [JSONValue] = [.object(["role": s("user"), "content": content])]
            if let toolResult {
                messages.append(.object(["role": s("assistant"), "content": .array([.object(["type": s("tool_use"), "id": s("toolu_1"), "name": s(Self.weatherTool.name), "input": .object(["city": s("Paris")])])])]))
                messages.append(.object(["role": s("user"), "content": .array([.object(["type": s("tool_result"), "tool_use_id": s("toolu_1"), "content": s(toolResult)])])]))
            }
            var body: [String: JSONValue] = ["model": s(model), "system": s("Be brief."), "messages": .array(messages), "stream": .bool(stream), "max_tokens": .int(100)]
            if tools { body["tools"] = .array([.object(["name": s(Self.weatherTool.name), "description": s(Self.weatherTool.description), "input_schema": Self.weatherTool.schema])]) }
            return ("/v1/messages", .object(body))
        case .gemini:
            var parts: [JSONValue] = [.object(["text": s(prompt)])]
            if image { parts.append(.object(["inlineData": .object(["mimeType": s("image/png"), "data": s(Self.imageData)])])) }
            var contents: [JSONValue] = [.object(["role": s("user"), "parts": .array(parts)])]
            if let toolResult {
                contents.append(.object(["role": s("model"), "parts": .array([.object(["functionCall": .object(["name": s(Self.weatherTool.name), "args": .object(["city": s("Paris")])])])])]))
                contents.append(.object(["role": s("user"), "parts": .array([.object(["functionResponse": .object(["name": s(Self.weatherTool.name), "response": .object(["result": s(toolResult)])])])])]))
            }
            var body: [String: JSONValue] = ["contents": .array(contents), "systemInstruction": .object(["parts": .array([.object(["text": s("Be brief.")])])]), "generationConfig": .object(["maxOutputTokens": .int(100)])]
            if tools { body["tools"] = .array([.object(["functionDeclarations": .array([.object(["name": s(Self.weatherTool.name), "description": s(Self.weatherTool.description), "parameters": Self.weatherTool.schema])])])]) }
            let action = stream ? "streamGenerateContent?alt=sse" : "generateContent"
            return ("/v1beta/models/\(model):\(action)", .object(body))
        }
    }

    func read(_ body: String, stream: Bool) throws -> Turn {
        stream ? try readStream(body) : try readComplete(try JSONText.parse(Array(body.utf8)))
    }

    private func readComplete(_ json: JSONValue) throws -> Turn {
        var turn = Turn(completed: true)
        switch self {
        case .chat:
            let choice = json["choices"]?.arrayValue?.first
            turn.text = choice?["message"]?["content"]?.stringValue ?? ""
            if let call = choice?["message"]?["tool_calls"]?.arrayValue?.first {
                turn.toolName = call["function"]?["name"]?.stringValue
                turn.toolArguments = call["function"]?["arguments"]?.stringValue ?? ""
            }
            turn.finish = choice?["finish_reason"]?.stringValue
        case .responses:
            for item in json["output"]?.arrayValue ?? [] {
                if item["type"]?.stringValue == "message" {
                    turn.text += (item["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
                } else if item["type"]?.stringValue == "function_call" {
                    turn.toolName = item["name"]?.stringValue
                    turn.toolArguments = item["arguments"]?.stringValue ?? ""
                }
            }
            turn.finish = json["status"]?.stringValue
        case .messages:
            for block in json["content"]?.arrayValue ?? [] {
                if let t = block["text"]?.stringValue { turn.text += t }
                if block["type"]?.stringValue == "tool_use" {
                    turn.toolName = block["name"]?.stringValue
                    turn.toolArguments = JSONText.render(block["input"] ?? .null)
                }
            }
            turn.finish = json["stop_reason"]?.stringValue
        case .gemini:
            let candidate = json["candidates"]?.arrayValue?.first
            for part in candidate?["content"]?["parts"]?.arrayValue ?? [] {
                if let t = part["text"]?.stringValue { turn.text += t }
                if let call = part["functionCall"] {
                    turn.toolName = call["name"]?.stringValue
                    turn.toolArguments = JSONText.render(call["args"] ?? .null)
                }
            }
            turn.finish = candidate?["finishReason"]?.stringValue
        }
        return turn
    }

    private func readStream(_ body: String) throws -> Turn {
        var parser = SSEParser()
        let frames = parser.feed(Array(body.utf8)) + parser.finish()
        var turn = Turn()
        for frame in frames {
            if frame.data == "[DONE]" {
                turn.completed = self == .chat
                continue
            }
            let json = try JSONText.parse(Array(frame.data.utf8))
            if let error = json["error"], self != .responses {
                turn.error = error["message"]?.stringValue ?? JSONText.render(error)
                continue
            }
            switch self {
            case .chat:
                let choice = json["choices"]?.arrayValue?.first
                turn.text += choice?["delta"]?["content"]?.stringValue ?? ""
                for call in choice?["delta"]?["tool_calls"]?.arrayValue ?? [] {
                    if let name = call["function"]?["name"]?.stringValue { turn.toolName = name }
                    turn.toolArguments += call["function"]?["arguments"]?.stringValue ?? ""
                }
                if let finish = choice?["finish_reason"]?.stringValue { turn.finish = finish }
            case .responses:
                switch json["type"]?.stringValue ?? "" {
                case "response.output_text.delta": turn.text += json["delta"]?.stringValue ?? ""
                case "response.output_item.added" where json["item"]?["type"]?.stringValue == "function_call":
                    turn.toolName = json["item"]?["name"]?.stringValue
                case "response.function_call_arguments.delta": turn.toolArguments += json["delta"]?.stringValue ?? ""
                case "response.completed", "response.incomplete":
                    turn.completed = true
                    turn.finish = json["response"]?["status"]?.stringValue
                case "response.failed": turn.error = json["response"]?["error"]?["message"]?.stringValue ?? "failed"
                default: break
                }
            case .messages:
                switch json["type"]?.stringValue ?? "" {
                case "content_block_start":
                    if json["content_block"]?["type"]?.stringValue == "tool_use" { turn.toolName = json["content_block"]?["name"]?.stringValue }
                case "content_block_delta":
                    turn.text += json["delta"]?["text"]?.stringValue ?? ""
                    turn.toolArguments += json["delta"]?["partial_json"]?.stringValue ?? ""
                case "message_delta": turn.finish = json["delta"]?["stop_reason"]?.stringValue
                case "message_stop": turn.completed = true
                default: break
                }
            case .gemini:
                let candidate = json["candidates"]?.arrayValue?.first
                for part in candidate?["content"]?["parts"]?.arrayValue ?? [] {
                    turn.text += part["text"]?.stringValue ?? ""
                    if let call = part["functionCall"] {
                        turn.toolName = call["name"]?.stringValue
                        turn.toolArguments += JSONText.render(call["args"] ?? .null)
                    }
                }
                if let finish = candidate?["finishReason"]?.stringValue {
                    turn.finish = finish
                    turn.completed = true
                }
            }
        }
        return turn
    }
}
