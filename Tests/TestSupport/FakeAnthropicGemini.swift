import Core
import Hummingbird

enum FakeAnthropic {
    static func messages(_ body: JSONValue, behavior: FakeProvider.Behavior, fake: FakeProvider) -> Response {
        let model = body["model"]?.stringValue ?? "?"
        let reply = FakeConversation.read(.anthropic, body).reply
        let usage: JSONValue = .object([
            "input_tokens": .int(8), "output_tokens": .int(7), "cache_read_input_tokens": .int(3), "cache_creation_input_tokens": .int(0),
        ])
        var block: JSONValue
        var stop = "end_turn"
        switch reply {
        case .text(let t): block = .object(["type": .string("text"), "text": .string(t)])
        case .toolCall(let name, let args):
            stop = "tool_use"
            block = .object(["type": .string("tool_use"), "id": .string("toolu_fake1"), "name": .string(name), "input": (try? JSONText.parse(Array(args.utf8))) ?? .object([:])])
        }
        guard body["stream"]?.boolValue == true else {
            return FakeWire.json(.object([
                "id": .string("msg_fake"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
                "content": .array([block]), "stop_reason": .string(stop), "stop_sequence": .null, "usage": usage,
            ]))
        }
        func event(_ type: String, _ fields: [String: JSONValue]) -> SSEFrame {
            var o = fields
            o["type"] = .string(type)
            return SSEFrame(event: type, data: JSONText.render(.object(o)))
        }
        var frames = [
            event("message_start", ["message": .object([
                "id": .string("msg_fake"), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
                "content": .array([]), "stop_reason": .null,
                "usage": .object(["input_tokens": .int(8), "output_tokens": .int(1), "cache_read_input_tokens": .int(3)]),
            ])]),
            event("ping", [:]),
        ]
        switch reply {
        case .text(let t):
            frames.append(event("content_block_start", ["index": .int(0), "content_block": .object(["type": .string("text"), "text": .string("")])]))
            frames += FakeWire.pieces(t).map { event("content_block_delta", ["index": .int(0), "delta": .object(["type": .string("text_delta"), "text": .string($0)])]) }
        case .toolCall(let name, let args):
            frames.append(event("content_block_start", ["index": .int(0), "content_block": .object([
                "type": .string("tool_use"), "id": .string("toolu_fake1"), "name": .string(name), "input": .object([:]),
            ])]))
            let half = args.index(args.startIndex, offsetBy: args.count / 2)
            for fragment in [String(args[..<half]), String(args[half...])] {
                frames.append(event("content_block_delta", ["index": .int(0), "delta": .object(["type": .string("input_json_delta"), "partial_json": .string(fragment)])]))
            }
        }
        let closing = [
            event("content_block_stop", ["index": .int(0)]),
            event("message_delta", ["delta": .object(["stop_reason": .string(stop), "stop_sequence": .null]), "usage": .object(["output_tokens": .int(7)])]),
            event("message_stop", [:]),
        ]
        let error = event("error", ["error": .object(["type": .string("overloaded_error"), "message": .string("fake stream failure")])])
        return FakeWire.sse(frames, behavior: behavior, closing: closing, errorFrame: error, fake: fake)
    }
}

enum FakeGemini {
    static let usage: JSONValue = .object([
        "promptTokenCount": .int(11), "candidatesTokenCount": .int(5), "thoughtsTokenCount": .int(2),
        "cachedContentTokenCount": .int(3), "totalTokenCount": .int(18),
    ])

    static func generate(_ body: JSONValue, model: String, stream: Bool, behavior: FakeProvider.Behavior, fake: FakeProvider) -> Response {
        let reply = FakeConversation.read(.gemini, body).reply
        func chunk(_ parts: [JSONValue], finish: String? = nil, withUsage: Bool = false) -> JSONValue {
            var candidate: [String: JSONValue] = ["content": .object(["role": .string("model"), "parts": .array(parts)]), "index": .int(0)]
            if let finish { candidate["finishReason"] = .string(finish) }
            var o: [String: JSONValue] = ["candidates": .array([.object(candidate)]), "modelVersion": .string(model), "responseId": .string("gem-fake")]
            if withUsage { o["usageMetadata"] = usage }
            return .object(o)
        }
        let parts: [JSONValue]
        switch reply {
        case .text(let t): parts = [.object(["text": .string(t)])]
        case .toolCall(let name, let args):
            parts = [.object(["functionCall": .object(["name": .string(name), "args": (try? JSONText.parse(Array(args.utf8))) ?? .object([:])])])]
        }
        guard stream else { return FakeWire.json(chunk(parts, finish: "STOP", withUsage: true)) }
        var frames: [SSEFrame]
        switch reply {
        case .text(let t): frames = FakeWire.pieces(t).map { SSEFrame(data: JSONText.render(chunk([.object(["text": .string($0)])]))) }
        case .toolCall: frames = [SSEFrame(data: JSONText.render(chunk(parts)))]
        }
        let closing = [SSEFrame(data: JSONText.render(chunk([.object(["text": .string("")])], finish: "STOP", withUsage: true)))]
        let error = SSEFrame(data: #"{"error":{"code":503,"message":"fake stream failure","status":"UNAVAILABLE"}}"#)
        return FakeWire.sse(frames, behavior: behavior, closing: closing, errorFrame: error, fake: fake)
    }
}
