import Adapters
import AsyncHTTPClient
import Core
import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// Sends one client request upstream: resolves candidates, tries them in order while failures are retryable and
/// nothing has reached the client, and relays the answer (translated when the protocols differ).
public struct ProxyEngine: Sendable {
    let resolver: CandidateResolver
    let http: UpstreamHTTP
    let builder: UpstreamRequestBuilder
    let usageLog: Logger
    /// At most this many providers are tried for one request.
    let maxAttempts: Int
    static let maxUpstreamBody = 64 * 1024 * 1024

    struct Inbound: Sendable {
        let format: IngressFormat
        let body: [String: JSONValue]
        /// Gemini: from the URL.
        let modelFromPath: String?
        /// Gemini: from the URL; chat: `Accept: text/event-stream` when `stream` is absent.
        let streamHint: Bool?
        /// Protocol headers relayed to same-kind upstreams (e.g. `anthropic-beta`).
        let relayHeaders: [(String, String)]
        let identity: APIKeyIdentity
        let requestId: String
    }

    func handle(_ inbound: Inbound) async throws -> Response {
        let fields = Fields(inbound.body)
        let model = try inbound.modelFromPath ?? fields.requiredString("model")
        guard !model.isEmpty else { throw APIError.badRequest("'model' must not be empty", param: "model", code: "invalid_value") }
        let stream = try inbound.streamHint.map { hint in try fields.bool("stream") ?? hint } ?? fields.bool("stream") ?? false
        let decoded = Result(catching: { () throws(APIError) -> ChatRequest in
            try inbound.format.codec.decodeRequest(inbound.body, model: inbound.modelFromPath, stream: stream)
        })
        let candidates = try await resolver.resolve(model: model, for: inbound.identity, capability: .chat)
        let preparation = CallPreparation(format: inbound.format, body: inbound.body, decoded: decoded, stream: stream)
        let request = (try? decoded.get()) ?? ChatRequest(model: model, stream: stream)

        return try await inOrder(candidates, inbound: inbound, prepare: { candidate throws(APIError) in try preparation.prepare(candidate) }) { call in
            let response = try await send(call, stream: stream, inbound: inbound)
            if stream {
                return streamingResponse(response, call: call, inbound: inbound, request: request, model: model)
            }
            return try await completeResponse(response, call: call, inbound: inbound, request: request, model: model)
        }
    }

    /// Tries candidates in order while failures are retryable; `perform` must not have sent anything to the
    /// client when it throws. After the last attempt the client gets the last failure, naming how many were tried.
    private func inOrder(
        _ candidates: [Candidate], inbound: Inbound, prepare: (Candidate) throws(APIError) -> PreparedCall,
        perform: (PreparedCall) async throws -> Response
    ) async throws -> Response {
        var lastFailure: UpstreamFailure?
        var attempts = 0
        for candidate in candidates.prefix(maxAttempts) {
            attempts += 1
            let call = try prepare(candidate)
            do {
                return try await perform(call)
            } catch {
                let failure = UpstreamFailure.classify(error)
                lastFailure = failure
                logAttemptFailure(failure, call: call, inbound: inbound)
                if !failure.isRetryable(for: candidate.provider) { break }
            }
        }
        throw (lastFailure ?? .connection("no provider")).clientError(attempts: attempts)
    }

    /// Sends the call and waits for the response head (bounded by the provider's first-byte timeout).
    /// A non-2xx answer is read (bounded) and thrown as `UpstreamFailure.status`.
    private func send(_ call: PreparedCall, stream: Bool, inbound: Inbound) async throws -> HTTPClientResponse {
        let provider = call.candidate.provider
        var request = HTTPClientRequest(url: builder.url(provider, path: call.path))
        request.method = .POST
        request.headers = builder.headers(provider, key: call.key, stream: stream, passthrough: call.passthrough ? inbound.relayHeaders : [])
        request.body = .bytes(ByteBuffer(bytes: JSONText.bytes(call.body)))
        let client = http.client(connectTimeout: provider.connectTimeout, readTimeout: provider.readTimeout)
        let response = try await client.execute(request, timeout: .init(provider.firstByteTimeout))
        guard (200..<300).contains(response.status.code) else {
            let body = (try? await response.body.collect(upTo: 256 * 1024)) ?? ByteBuffer()
            throw UpstreamFailure.status(Int(response.status.code), UpstreamFailure.message(from: body))
        }
        return response
    }

    private func completeResponse(
        _ response: HTTPClientResponse, call: PreparedCall, inbound: Inbound, request: ChatRequest, model: String
    ) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.maxUpstreamBody)
        } catch {
            throw UpstreamFailure.classify(error)
        }
        guard let json = try? JSONText.parse(body.readableBytesView) else { throw UpstreamFailure.malformed("not JSON") }
        let codec = call.candidate.provider.kind.codec
        if call.passthrough {
            let usage = inbound.format == .responses ? ResponsesUsage.read(json) : (try? codec.decodeResponse(json, model: model))?.usage
            logUsage(usage, call: call, inbound: inbound, outcome: "completed", streamed: false)
            return Self.json(body)
        }
        let decoded: ChatResponse
        do {
            decoded = try codec.decodeResponse(json, model: model)
        } catch {
            throw UpstreamFailure.malformed(error.message)
        }
        logUsage(decoded.usage, call: call, inbound: inbound, outcome: "completed", streamed: false)
        let encoded = inbound.format.codec.encodeResponse(decoded, for: request)
        return Self.json(ByteBuffer(bytes: JSONText.bytes(encoded)))
    }

    private func streamingResponse(
        _ response: HTTPClientResponse, call: PreparedCall, inbound: Inbound, request: ChatRequest, model: String
    ) -> Response {
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let engine = self
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var relay = StreamRelay(call: call, format: inbound.format, request: request, clientModel: model)
            var outcome = "completed"
            do {
                do {
                    for try await chunk in response.body {
                        if let out = try relay.consume(chunk) { try await ClientWrite.write(out, to: &writer) }
                    }
                    if let tail = try relay.finish() { try await ClientWrite.write(tail, to: &writer) }
                    if !relay.isComplete {
                        outcome = "upstream_cut"
                        try await ClientWrite.write(relay.fail("the upstream ended the stream before it was complete"), to: &writer)
                    } else if relay.upstreamError != nil {
                        outcome = "upstream_error"
                        if let done = relay.terminatorAfterRelayedError() { try await ClientWrite.write(done, to: &writer) }
                    }
                } catch let error as UpstreamStreamError {
                    outcome = "upstream_error"
                    try await ClientWrite.write(relay.fail(UpstreamFailure.redact(error.message)), to: &writer)
                } catch let gone as ClientWrite.Gone {
                    throw gone
                } catch {
                    outcome = "upstream_cut"
                    try await ClientWrite.write(relay.fail(UpstreamFailure.classify(error).summary), to: &writer)
                }
                try await writer.finish(nil)
            } catch is ClientWrite.Gone {
                outcome = "client_disconnected"
            }
            engine.logUsage(relay.usage, call: call, inbound: inbound, outcome: outcome, streamed: true)
        })
    }

    /// Embeddings and image generation: OpenAI-compatible providers only, forwarded as they are (model replaced).
    func forward(_ body: [String: JSONValue], capability: Capability, identity: APIKeyIdentity, requestId: String) async throws -> Response {
        let model = try Fields(body).requiredString("model")
        let candidates = try await resolver.resolve(model: model, for: identity, capability: capability)
        let inbound = Inbound(
            format: .chatCompletions, body: body, modelFromPath: nil, streamHint: nil, relayHeaders: [], identity: identity, requestId: requestId
        )
        let prepare = { (candidate: Candidate) throws(APIError) -> PreparedCall in
            var upstreamBody = body
            upstreamBody["model"] = .string(candidate.upstreamModel)
            let provider = candidate.provider
            return PreparedCall(
                candidate: candidate, key: CallPreparation.pickKey(provider.keys),
                path: capability == .images ? provider.imagesPath : provider.embeddingsPath,
                body: .object(upstreamBody), passthrough: true, stripUsageChunk: false
            )
        }
        return try await inOrder(candidates, inbound: inbound, prepare: prepare) { call in
            let response = try await send(call, stream: false, inbound: inbound)
            let bytes = try await response.body.collect(upTo: Self.maxUpstreamBody)
            let usage = (try? JSONText.parse(bytes.readableBytesView))?["usage"].map {
                Usage(inputTokens: Int($0["prompt_tokens"]?.intValue ?? $0["input_tokens"]?.intValue ?? 0),
                      outputTokens: Int($0["output_tokens"]?.intValue ?? 0))
            }
            logUsage(usage, call: call, inbound: inbound, outcome: "completed", streamed: false)
            return Self.json(bytes)
        }
    }

    static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// One line per proxied request with normalised usage: the record billing settles from.
    func logUsage(_ usage: Usage?, call: PreparedCall, inbound: Inbound, outcome: String, streamed: Bool) {
        usageLog.info("usage", metadata: [
            "request_id": .string(inbound.requestId),
            "org_id": .string(inbound.identity.orgId),
            "key_id": .string(inbound.identity.keyId),
            "provider": .string(call.candidate.provider.slug),
            "upstream_model": .string(call.candidate.upstreamModel),
            "ingress": .string(inbound.format.rawValue),
            "streamed": .stringConvertible(streamed),
            "outcome": .string(outcome),
            "usage_reported": .stringConvertible(usage != nil),
            "input_tokens": .stringConvertible(usage?.inputTokens ?? 0),
            "output_tokens": .stringConvertible(usage?.outputTokens ?? 0),
            "cached_input_tokens": .stringConvertible(usage?.cachedInputTokens ?? 0),
            "reasoning_tokens": .stringConvertible(usage?.reasoningTokens ?? 0),
        ])
    }

    private func logAttemptFailure(_ failure: UpstreamFailure, call: PreparedCall, inbound: Inbound) {
        usageLog.warning("upstream attempt failed", metadata: [
            "request_id": .string(inbound.requestId),
            "provider": .string(call.candidate.provider.slug),
            "error": .string(failure.summary),
        ])
    }
}

/// Writes to the client; a failure means the client went away, which stops the relay (and so the upstream call).
enum ClientWrite {
    struct Gone: Error {}

    static func write(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter) async throws {
        do {
            try await writer.write(buffer)
        } catch {
            throw Gone()
        }
    }
}
