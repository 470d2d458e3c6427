import Core
import Hummingbird

/// What `ProxyEngine.inOrder` does with each candidate it tries: build the upstream call, then perform it. The
/// chat-like endpoints and the forwarded ones (embeddings, images) differ only here. A generic parameter rather
/// than closures: the calls are direct after specialisation, with no closure frames between the retry loop and the
/// upstream call on the path every connection's task keeps slabs for.
protocol AttemptWork: Sendable {
    var inbound: ProxyEngine.Inbound { get }
    var ticket: RequestMetering.Ticket { get }
    func prepare(_ candidate: Candidate, key: UpstreamKey) throws(APIError) -> PreparedCall
    /// Must not have sent anything to the client when it throws.
    func perform(_ call: PreparedCall, attempt: UpstreamAttempt) async throws -> Response
}

/// Chat completions, Responses, Messages and Gemini: passthrough or translated, streaming or not.
struct ChatAttempt: AttemptWork {
    let engine: ProxyEngine
    let inbound: ProxyEngine.Inbound
    let chat: ProxyEngine.Chat
    let ticket: RequestMetering.Ticket

    func prepare(_ candidate: Candidate, key: UpstreamKey) throws(APIError) -> PreparedCall {
        try chat.preparation.prepare(candidate, key: key)
    }

    func perform(_ call: PreparedCall, attempt: UpstreamAttempt) async throws -> Response {
        try await engine.answer(call, attempt: attempt, inbound: inbound, chat: chat, ticket: ticket)
    }
}

/// Embeddings and image generation: OpenAI-compatible providers only, the body forwarded with the model replaced.
struct ForwardAttempt: AttemptWork {
    let engine: ProxyEngine
    let inbound: ProxyEngine.Inbound
    let ticket: RequestMetering.Ticket
    let capability: Capability
    let images: Int

    func prepare(_ candidate: Candidate, key: UpstreamKey) throws(APIError) -> PreparedCall {
        let provider = candidate.provider
        return PreparedCall(
            candidate: candidate, key: key, path: capability == .images ? provider.imagesPath : provider.embeddingsPath,
            body: inbound.body.replacing([("model", .string(candidate.upstreamModel))]), passthrough: true, stripUsageChunk: false
        )
    }

    func perform(_ call: PreparedCall, attempt: UpstreamAttempt) async throws -> Response {
        try await engine.forwarded(call, attempt: attempt, inbound: inbound, ticket: ticket, images: images)
    }
}
