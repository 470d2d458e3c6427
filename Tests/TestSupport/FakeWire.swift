import Core
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Fixed usage every fake reports, in each provider's own terms; all normalise to input 11 (3 cached), output 7.
public enum FakeUsage {
    public static let input = 11
    public static let output = 7
    public static let cached = 3
}

enum FakeWire {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: JSONText.render(value))))
    }

    static func error(_ kind: FakeProvider.Kind, status: Int, message: String) -> Response {
        let body: JSONValue =
            switch kind {
            case .openai: .object(["error": .object(["message": .string(message), "type": .string("api_error"), "code": .null])])
            case .anthropic: .object(["type": .string("error"), "error": .object(["type": .string("api_error"), "message": .string(message)])])
            case .gemini: .object(["error": .object(["code": .int(Int64(status)), "message": .string(message), "status": .string("UNAVAILABLE")])])
            }
        return json(body, status: HTTPResponse.Status(code: status))
    }

    /// Text split into small pieces so streams have several content frames.
    static func pieces(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for c in text {
            current.append(c)
            if current.count == 6 { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func sse(_ frames: [SSEFrame], behavior: FakeProvider.Behavior, closing: [SSEFrame], errorFrame: SSEFrame, fake: FakeProvider) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
            do {
                switch behavior {
                case .cutStream(let n):
                    for frame in frames.prefix(n) { try await writer.write(ByteBuffer(string: frame.serialized)) }
                case .streamError(let n):
                    for frame in frames.prefix(n) { try await writer.write(ByteBuffer(string: frame.serialized)) }
                    try await writer.write(ByteBuffer(string: errorFrame.serialized))
                case .slowStream(let interval, let count):
                    let filler = frames.first ?? SSEFrame(data: "{}")
                    for _ in 0..<count {
                        try await writer.write(ByteBuffer(string: filler.serialized))
                        try await Task.sleep(for: interval)
                    }
                    for frame in frames.dropFirst() + closing { try await writer.write(ByteBuffer(string: frame.serialized)) }
                default:
                    for frame in frames + closing { try await writer.write(ByteBuffer(string: frame.serialized)) }
                }
                try await writer.finish(nil)
            } catch {
                fake.noteAbandoned()
                throw error
            }
        })
    }
}

extension FakeProvider {
    func answer(_ request: Request, body: JSONValue?) async throws -> Response {
        guard authorized(request) else { return FakeWire.error(kind, status: 401, message: "invalid key") }
        let behavior = self.behavior
        switch behavior {
        case .fail(let status): return FakeWire.error(kind, status: status, message: "fake failure \(status)")
        case .delayHead(let delay): try await Task.sleep(for: delay)
        default: break
        }
        guard let body else { return FakeWire.error(kind, status: 400, message: "body is not JSON") }
        let path = request.uri.path
        switch kind {
        case .openai:
            if path.hasSuffix("/embeddings") { return FakeOpenAI.embeddings(body) }
            if path.hasSuffix("/images/generations") { return FakeOpenAI.images() }
            if path.hasSuffix("/responses") {
                guard servesResponses else { return FakeWire.error(kind, status: 404, message: "no such route") }
                return FakeOpenAI.responses(body, behavior: behavior, fake: self)
            }
            guard path.hasSuffix("/chat/completions") else { return FakeWire.error(kind, status: 404, message: "no such route") }
            return FakeOpenAI.chat(body, behavior: behavior, fake: self)
        case .anthropic:
            guard path.hasSuffix("/messages") else { return FakeWire.error(kind, status: 404, message: "no such route") }
            return FakeAnthropic.messages(body, behavior: behavior, fake: self)
        case .gemini:
            guard let colon = path.lastIndex(of: ":") else { return FakeWire.error(kind, status: 404, message: "no such route") }
            let model = String(path[..<colon]).replacingOccurrences(of: "/v1beta/models/", with: "")
            let stream = path[path.index(after: colon)...] == "streamGenerateContent"
            return FakeGemini.generate(body, model: model, stream: stream, behavior: behavior, fake: self)
        }
    }
}
