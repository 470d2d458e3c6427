import Core
import Hummingbird

enum FakeOpenAI {
    static let usage: JSONValue = .object([
        "prompt_tokens": .int(11), "completion_tokens": .int(7), "total_tokens": .int(18),
        "prompt_tokens_details": .object(["cached_tokens": .int(3)]),
        "completion_tokens_details": .object(["reasoning_tokens": .int(2)]),
    ])

    static func chat(_ body: JSONValue, behavior: FakeProvider.Behavior, fake: FakeProvider) -> Response {
        let model = body["model"]?.stringValue ?? "?"
        let reply = FakeConversation.read(.openai, body).reply
        let base: [String: JSONValue] = ["id": .string("chatcmpl-fake"), "created": .int(1_700_000_000), "model": .string(model)]
        guard body["stream"]?.boolValue == true else {
            var message: [String: JSONValue] = ["role": .string("assistant")]
            var finish = "stop"
            switch reply {
            case .text(let t): message["content"] = .string(t)
            case .toolCall(let name, let args):
                message["content"] = .null
                message["tool_calls"] = .array([.object([
                    "id": .string("call_fake1"), "type": .string("function"),
                    "function": .object(["name": .string(name), "arguments": .string(args)]),
                ])])
                finish = "tool_calls"
            }
            var o = base
            o["object"] = .string("chat.completion")
            o["choices"] = .array([.object(["index": .int(0), "message": .object(message), "finish_reason": .string(finish)])])
            if behavior != .withoutUsage { o["usage"] = usage }
            return FakeWire.json(.object(o))
        }
        func chunk(_ delta: [String: JSONValue], finish: String? = nil) -> SSEFrame {
            var o = base
            o["object"] = .string("chat.completion.chunk")
            o["choices"] = .array([.object(["index": .int(0), "delta": .object(delta), "finish_reason": finish.map(JSONValue.string) ?? .null])])
            return SSEFrame(data: JSONText.render(.object(o)))
        }
        var frames = [chunk(["role": .string("assistant"), "content": .string("")])]
        var finish = "stop"
        switch reply {
        case .text(let t): frames += FakeWire.pieces(t).map { chunk(["content": .string($0)]) }
        case .toolCall(let name, let args):
            finish = "tool_calls"
            let half = args.index(args.startIndex, offsetBy: args.count / 2)
            frames.append(chunk(["tool_calls": .array([.object([
                "index": .int(0), "id": .string("call_fake1"), "type": .string("function"),
                "function": .object(["name": .string(name), "arguments": .string("")]),
            ])])]))
            for fragment in [String(args[..<half]), String(args[half...])] {
                frames.append(chunk(["tool_calls": .array([.object(["index": .int(0), "function": .object(["arguments": .string(fragment)])])])]))
            }
        }
        var closing = [chunk([:], finish: finish)]
        if body["stream_options"]?["include_usage"]?.boolValue == true {
            var o = base
            o["object"] = .string("chat.completion.chunk")
            o["choices"] = .array([])
            o["usage"] = usage
            closing.append(SSEFrame(data: JSONText.render(.object(o))))
        }
        closing.append(SSEFrame(data: "[DONE]"))
        let error = SSEFrame(data: #"{"error":{"message":"fake stream failure","type":"server_error"}}"#)
        return FakeWire.sse(frames, behavior: behavior, closing: closing, errorFrame: error, fake: fake)
    }

    /// The native Responses API (text answers only), for passthrough tests.
    static func responses(_ body: JSONValue, behavior: FakeProvider.Behavior, fake: FakeProvider) -> Response {
        let model = body["model"]?.stringValue ?? "?"
        let input = body["input"]?.stringValue ?? "items"
        let text = "Native: \(input)"
        let usage: JSONValue = .object([
            "input_tokens": .int(11), "output_tokens": .int(7), "total_tokens": .int(18),
            "input_tokens_details": .object(["cached_tokens": .int(3)]), "output_tokens_details": .object(["reasoning_tokens": .int(2)]),
        ])
        let done: JSONValue = .object([
            "id": .string("resp_fake"), "object": .string("response"), "status": .string("completed"), "model": .string(model),
            "output": .array([.object(["type": .string("message"), "id": .string("msg_fake"), "role": .string("assistant"),
                "content": .array([.object(["type": .string("output_text"), "text": .string(text), "annotations": .array([])])])])]),
            "usage": usage, "custom_upstream_field": .string("kept"),
        ])
        guard body["stream"]?.boolValue == true else { return FakeWire.json(done) }
        func event(_ type: String, _ fields: [String: JSONValue]) -> SSEFrame {
            var o = fields
            o["type"] = .string(type)
            return SSEFrame(event: type, data: JSONText.render(.object(o)))
        }
        let frames = [event("response.created", ["response": .object(["id": .string("resp_fake"), "status": .string("in_progress")])])]
            + FakeWire.pieces(text).map { event("response.output_text.delta", ["item_id": .string("msg_fake"), "output_index": .int(0), "content_index": .int(0), "delta": .string($0)]) }
        let closing = [event("response.completed", ["response": done])]
        let error = event("response.failed", ["response": .object(["id": .string("resp_fake"), "status": .string("failed"), "error": .object(["code": .string("server_error"), "message": .string("fake stream failure")])])])
        return FakeWire.sse(frames, behavior: behavior, closing: closing, errorFrame: error, fake: fake)
    }

    static func embeddings(_ body: JSONValue) -> Response {
        FakeWire.json(.object([
            "object": .string("list"), "model": body["model"] ?? .null,
            "data": .array([.object(["object": .string("embedding"), "index": .int(0), "embedding": .array([.double(0.25), .double(-0.5), .double(1)])])]),
            "usage": .object(["prompt_tokens": .int(5), "total_tokens": .int(5)]),
        ]))
    }

    static func images() -> Response {
        FakeWire.json(.object(["created": .int(1_700_000_000), "data": .array([.object(["url": .string("https://images.example/fake.png")])])]))
    }
}
