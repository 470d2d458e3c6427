import Core

/// Writes stream events as Responses API semantic events: every frame has `event: <type>` and a data object with
/// the same `type` and an increasing `sequence_number`. As OpenAI does, one item is open at a time: it closes when
/// the next item starts or the stream ends. There is no `[DONE]` line.
struct ResponsesStreamEncoder: StreamEncoder {
    private struct OpenMessage {
        let outputIndex: Int
        let id: String
        var text = ""
    }

    private struct OpenCall {
        let outputIndex: Int
        let id: String
        let callID: String
        let name: String
        var arguments = ""
    }

    private let request: ChatRequest
    private let clock: OpenAIClock
    private var object: ResponsesObject?
    private var sequence = 0
    /// Output items by output index; `.null` while an item is still open.
    private var items: [JSONValue] = []
    private var message: OpenMessage?
    /// The open tool call and its canonical index.
    private var call: (index: Int, state: OpenCall)?
    private var finishReason: FinishReason?
    private var usage: Usage?
    private var ended = false

    init(request: ChatRequest, clock: OpenAIClock) {
        self.request = request
        self.clock = clock
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        guard !ended else { return [] }
        if case .start(let id, let model) = event {
            return object == nil ? begin(id: id, model: model) : []
        }
        var frames = object == nil ? begin(id: OpenAIWire.randomID("resp_"), model: request.model) : []
        switch event {
        case .start:
            break
        case .textDelta(let text):
            guard !text.isEmpty, finishReason == nil else { break }
            frames += closeCall(status: "completed")
            if message == nil { frames += openMessage() }
            guard let open = message else { break }
            message?.text += text
            frames.append(frame("response.output_text.delta", [
                "item_id": .string(open.id), "output_index": .int(Int64(open.outputIndex)), "content_index": .int(0),
                "delta": .string(text), "logprobs": .array([]),
            ]))
        case .toolCallStart(let index, let id, let name):
            guard finishReason == nil, call?.index != index, let object else { break }
            frames += closeMessage(status: "completed") + closeCall(status: "completed")
            let open = OpenCall(outputIndex: items.count, id: object.functionCallItemID(outputIndex: items.count), callID: id, name: name)
            items.append(.null)
            call = (index, open)
            frames.append(frame("response.output_item.added", [
                "output_index": .int(Int64(open.outputIndex)), "item": item(open, status: "in_progress"),
            ]))
        case .toolCallArgumentsDelta(let index, let fragment):
            // Providers stream one call after another; a fragment for an already closed call cannot be placed.
            guard !fragment.isEmpty, let open = call, open.index == index else { break }
            call?.state.arguments += fragment
            frames.append(frame("response.function_call_arguments.delta", [
                "item_id": .string(open.state.id), "output_index": .int(Int64(open.state.outputIndex)), "delta": .string(fragment),
            ]))
        case .finish(let reason):
            if finishReason == nil { finishReason = reason }
        case .usage(let usage):
            self.usage = usage
        }
        return frames
    }

    mutating func finish() -> [SSEFrame] {
        guard !ended else { return [] }
        var frames = object == nil ? begin(id: OpenAIWire.randomID("resp_"), model: request.model) : []
        let terminal = ResponsesObject.terminal(finishReason)
        // An item still open when the output limit hit was cut short.
        let itemStatus = terminal.status == "incomplete" ? "incomplete" : "completed"
        frames += closeMessage(status: itemStatus) + closeCall(status: itemStatus)
        if let object {
            let response = object.json(
                status: terminal.status, output: items, usage: usage ?? Usage(), incompleteReason: terminal.incompleteReason
            )
            frames.append(frame("response.\(terminal.status)", ["response": response]))
        }
        ended = true
        return frames
    }

    mutating func fail(message text: String) -> [SSEFrame] {
        guard !ended else { return [] }
        var frames = object == nil ? begin(id: OpenAIWire.randomID("resp_"), model: request.model) : []
        // Items cut short by the failure are closed as incomplete so clients never see a dangling item.
        frames += closeMessage(status: "incomplete") + closeCall(status: "incomplete")
        if let object {
            let error: JSONValue = .object(["code": .string("upstream_error"), "message": .string(text)])
            let response = object.json(status: "failed", output: items, usage: usage, error: error)
            frames.append(frame("response.failed", ["response": response]))
        }
        ended = true
        return frames
    }

    // MARK: Lifecycle

    private mutating func begin(id: String, model: String) -> [SSEFrame] {
        let object = ResponsesObject(upstreamID: id, createdAt: clock.now(), model: model, request: request)
        self.object = object
        let response = object.json(status: "in_progress", output: [], usage: nil)
        return [frame("response.created", ["response": response]), frame("response.in_progress", ["response": response])]
    }

    private mutating func openMessage() -> [SSEFrame] {
        guard let object else { return [] }
        let open = OpenMessage(outputIndex: items.count, id: object.messageItemID(outputIndex: items.count))
        items.append(.null)
        message = open
        let index: JSONValue = .int(Int64(open.outputIndex))
        return [
            frame("response.output_item.added", [
                "output_index": index,
                "item": .object([
                    "id": .string(open.id), "type": .string("message"), "role": .string("assistant"),
                    "status": .string("in_progress"), "content": .array([]),
                ]),
            ]),
            frame("response.content_part.added", [
                "item_id": .string(open.id), "output_index": index, "content_index": .int(0),
                "part": ResponsesObject.outputTextPart(""),
            ]),
        ]
    }

    private mutating func closeMessage(status: String) -> [SSEFrame] {
        guard let open = message else { return [] }
        message = nil
        let index: JSONValue = .int(Int64(open.outputIndex))
        let item = ResponsesObject.messageItem(id: open.id, text: open.text, status: status)
        items[open.outputIndex] = item
        return [
            frame("response.output_text.done", [
                "item_id": .string(open.id), "output_index": index, "content_index": .int(0),
                "text": .string(open.text), "logprobs": .array([]),
            ]),
            frame("response.content_part.done", [
                "item_id": .string(open.id), "output_index": index, "content_index": .int(0),
                "part": ResponsesObject.outputTextPart(open.text),
            ]),
            frame("response.output_item.done", ["output_index": index, "item": item]),
        ]
    }

    private mutating func closeCall(status: String) -> [SSEFrame] {
        guard let open = call?.state else { return [] }
        call = nil
        let index: JSONValue = .int(Int64(open.outputIndex))
        let item = item(open, status: status)
        items[open.outputIndex] = item
        return [
            frame("response.function_call_arguments.done", [
                "item_id": .string(open.id), "output_index": index, "name": .string(open.name),
                "arguments": .string(open.arguments),
            ]),
            frame("response.output_item.done", ["output_index": index, "item": item]),
        ]
    }

    private func item(_ call: OpenCall, status: String) -> JSONValue {
        ResponsesObject.functionCallItem(id: call.id, callID: call.callID, name: call.name, arguments: call.arguments, status: status)
    }

    private mutating func frame(_ type: String, _ fields: [String: JSONValue]) -> SSEFrame {
        var data = fields
        data["type"] = .string(type)
        data["sequence_number"] = .int(Int64(sequence))
        sequence += 1
        return SSEFrame(event: type, data: JSONText.object(data))
    }
}
