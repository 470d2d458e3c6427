import Core
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// An upstream LLM provider on a real loopback HTTP server, speaking the OpenAI, Anthropic or Gemini wire
/// protocol with deterministic answers. Tests switch its behaviour at run time and read what it received.
public final class FakeProvider: Sendable {
    public enum Kind: String, Sendable { case openai, anthropic, gemini }

    public enum Behavior: Sendable, Equatable {
        case normal
        /// Answer with this status and a provider-shaped error body.
        case fail(status: Int)
        /// Wait this long before sending the response head.
        case delayHead(Duration)
        /// Stream this many content frames, then end the body without the completion signal.
        case cutStream(afterFrames: Int)
        /// Stream this many content frames, then send the provider's error event.
        case streamError(afterFrames: Int)
        /// Stream one frame every `interval`, for `frames` frames (long streams for disconnect tests).
        case slowStream(interval: Duration, frames: Int)
        /// OpenAI, complete answers: no `usage` member, as some self-hosted upstreams answer.
        case withoutUsage
    }

    public struct Received: Sendable {
        public let method: String
        public let path: String
        public let headers: [String: String]
        public let body: JSONValue?
    }

    public let kind: Kind
    public let models: [String]
    /// Whether the OpenAI fake also serves the Responses API.
    public let servesResponses: Bool
    private let state = NIOLockedValueBox(State())
    private let server = LoopbackServer()
    private struct State {
        var behavior = Behavior.normal
        var received: [Received] = []
        var abandonedStreams = 0
    }

    public var port: Int { server.port }
    public var baseURL: String { server.baseURL }
    public var received: [Received] { state.withLockedValue { $0.received } }
    /// Streams whose reader went away before the fake finished writing (client disconnect reached upstream).
    public var abandonedStreams: Int { state.withLockedValue { $0.abandonedStreams } }
    public var completions: [Received] { received.filter { $0.method == "POST" } }

    public func setBehavior(_ behavior: Behavior) {
        state.withLockedValue { $0.behavior = behavior }
    }

    var behavior: Behavior { state.withLockedValue { $0.behavior } }

    init(kind: Kind, models: [String], servesResponses: Bool) {
        self.kind = kind
        self.models = models
        self.servesResponses = servesResponses
    }

    public static func start(_ kind: Kind, models: [String], servesResponses: Bool = false) async throws -> FakeProvider {
        let fake = FakeProvider(kind: kind, models: models, servesResponses: servesResponses)
        let router = Router()
        router.get("**") { request, _ in fake.record(request, body: nil); return try fake.modelList(request) }
        router.post("**") { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 32 * 1024 * 1024)
            let body = try? JSONText.parse(bytes.readableBytesView)
            fake.record(request, body: body)
            return try await fake.answer(request, body: body)
        }
        try await fake.server.start(router, name: "fake provider")
        return fake
    }

    public func stop() async {
        await server.stop()
    }

    private func record(_ request: Request, body: JSONValue?) {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let received = Received(method: request.method.rawValue, path: request.uri.description, headers: headers, body: body)
        state.withLockedValue { $0.received.append(received) }
    }

    func noteAbandoned() {
        state.withLockedValue { $0.abandonedStreams += 1 }
    }

    private func modelList(_ request: Request) throws -> Response {
        guard authorized(request) else { return FakeWire.error(kind, status: 401, message: "invalid key") }
        let body: JSONValue =
            switch kind {
            case .openai: .object(["object": .string("list"), "data": .array(models.map { .object(["id": .string($0), "object": .string("model")]) })])
            case .anthropic: .object(["data": .array(models.map { .object(["id": .string($0), "type": .string("model")]) }), "has_more": .bool(false)])
            case .gemini: .object(["models": .array(models.map { .object(["name": .string("models/\($0)")]) })])
            }
        return FakeWire.json(body)
    }

    /// Every request must carry a key in the provider kind's own header.
    func authorized(_ request: Request) -> Bool {
        switch kind {
        case .openai: request.headers[.authorization]?.hasPrefix("Bearer ") == true
        case .anthropic: request.headers[HTTPField.Name("x-api-key")!] != nil && request.headers[HTTPField.Name("anthropic-version")!] != nil
        case .gemini: request.headers[HTTPField.Name("x-goog-api-key")!] != nil
        }
    }
}
