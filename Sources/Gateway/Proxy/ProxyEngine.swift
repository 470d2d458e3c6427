import Adapters
import Core
import Hummingbird
import HTTPTypes
import Logging
import NIOCore

/// Sends one client request upstream: resolves candidates, tries them in order while failures are retryable and
/// nothing has reached the client, and relays the answer (translated when the protocols differ).
///
/// A class, and requests travel as `Inbound`/`Chat` references: every closure and async frame on the request path
/// then holds a pointer instead of a few hundred bytes of copied fields. A connection's task keeps the stack slabs
/// its deepest request needed for as long as the connection lives, so frame sizes are resident memory at 1,000
/// concurrent streams (PERFORMANCE.md).
public final class ProxyEngine: Sendable {
    let resolver: CandidateResolver
    let http: UpstreamHTTP
    let builder: UpstreamRequestBuilder
    let usageLog: Logger
    let metering: RequestMetering
    let resilience: Resilience
    let stickiness: SessionStickiness
    let context: SessionContext
    let planner: RoutePlanner
    /// At most this many providers are tried for one request.
    let maxAttempts: Int
    /// No new attempt starts after this much time since the first.
    let failoverBudget: Duration
    static let maxUpstreamBody = 64 * 1024 * 1024

    init(
        resolver: CandidateResolver, http: UpstreamHTTP, builder: UpstreamRequestBuilder, usageLog: Logger, metering: RequestMetering,
        resilience: Resilience, stickiness: SessionStickiness, context: SessionContext, planner: RoutePlanner, maxAttempts: Int,
        failoverBudget: Duration
    ) {
        self.resolver = resolver
        self.http = http
        self.builder = builder
        self.usageLog = usageLog
        self.metering = metering
        self.resilience = resilience
        self.stickiness = stickiness
        self.context = context
        self.planner = planner
        self.maxAttempts = maxAttempts
        self.failoverBudget = failoverBudget
    }

    final class Inbound: Sendable {
        let format: IngressFormat
        /// Read member by member; forwarded unchanged but for what the gateway sets (`CallPreparation`).
        let body: JSONObjectBytes
        /// Gemini: from the URL.
        let modelFromPath: String?
        /// Gemini: from the URL; chat: `Accept: text/event-stream` when `stream` is absent.
        let streamHint: Bool?
        /// Protocol headers relayed to same-kind upstreams (e.g. `anthropic-beta`).
        let relayHeaders: [(String, String)]
        let identity: APIKeyIdentity
        let requestId: String
        /// Size of the client's body, for the prompt estimate behind the credit hold.
        var bodyBytes: Int { body.count }
        /// `X-Session-Id`, for stickiness.
        let sessionId: String?
        /// `X-Routing-Strategy`, overriding the logical model's and the default.
        let strategy: RoutingStrategy?

        init(
            format: IngressFormat, body: JSONObjectBytes, modelFromPath: String?, streamHint: Bool?, relayHeaders: [(String, String)],
            identity: APIKeyIdentity, requestId: String, sessionId: String? = nil, strategy: RoutingStrategy? = nil
        ) {
            self.format = format
            self.body = body
            self.modelFromPath = modelFromPath
            self.streamHint = streamHint
            self.relayHeaders = relayHeaders
            self.identity = identity
            self.requestId = requestId
            self.sessionId = sessionId
            self.strategy = strategy
        }
    }

    /// A chat-like request read from its ingress body: the model the client named, streaming or not, and the
    /// canonical request (or the 400 decoding produced, fatal only when translation is needed).
    final class Chat: Sendable {
        let model: String
        let stream: Bool
        let preparation: CallPreparation
        /// What adapters translate from; a minimal one (model, stream, output cap) when the body was not decoded
        /// or did not decode.
        let request: ChatRequest

        /// What routing needs, read before it: a missing model or a `stream` of the wrong type is the client's 400.
        struct Target {
            let model: String
            let stream: Bool
        }

        static func target(_ inbound: Inbound) throws -> Target {
            let fields = Fields(inbound.body.members(["model", "stream"]))
            let model = try inbound.modelFromPath ?? fields.requiredString("model")
            guard !model.isEmpty else { throw APIError.badRequest("'model' must not be empty", param: "model", code: "invalid_value") }
            let stream = try inbound.streamHint.map { hint in try fields.bool("stream") ?? hint } ?? fields.bool("stream") ?? false
            return Target(model: model, stream: stream)
        }

        /// `decode`: whether anything will read the canonical request — a candidate that needs translation, or a
        /// session turn to record. A request every candidate forwards unchanged reads only its output cap (for the
        /// credit hold), so a long conversation is not converted for nothing.
        init(_ inbound: Inbound, target: Target, decode: Bool) {
            let minimal = {
                var request = ChatRequest(model: target.model, stream: target.stream)
                request.maxOutputTokens = try? inbound.format.codec.maxOutputTokens(inbound.body)
                return request
            }
            let decoded: Result<ChatRequest, APIError> =
                decode
                ? Result(catching: { () throws(APIError) -> ChatRequest in
                    try inbound.format.codec.decodeRequest(inbound.body.object(), model: inbound.modelFromPath, stream: target.stream)
                })
                : .success(minimal())
            self.model = target.model
            self.stream = target.stream
            self.preparation = CallPreparation(format: inbound.format, body: inbound.body, decoded: decoded, stream: target.stream)
            self.request = (try? decoded.get()) ?? minimal()
        }
    }

    /// `target`: what `Chat.target(inbound)` read (the caller needs it first, to choose where this runs).
    func handle(_ inbound: Inbound, target: Chat.Target) async throws -> Response {
        var candidates = try await routed(target.model, identity: inbound.identity, capability: .chat, strategy: inbound.strategy)
        if let session = inbound.sessionId {
            candidates = await stickiness.ordered(candidates, orgId: inbound.identity.orgId, session: session, model: target.model)
        }
        // Decided over exactly the candidates `attempted` may try, so a translated attempt always has the decoded request.
        let decode = (inbound.sessionId != nil && context.isEnabled) || candidates.contains { !inbound.format.isPassthrough(to: $0.provider) }
        let chat = Chat(inbound, target: target, decode: decode)
        let ticket = try await metering.open(
            requestId: inbound.requestId, identity: inbound.identity, candidates: candidates, bodyBytes: inbound.bodyBytes,
            maxOutputTokens: chat.request.maxOutputTokens
        )
        return try await attempted(ChatAttempt(engine: self, inbound: inbound, chat: chat, ticket: ticket), candidates: candidates)
    }

    /// One attempt at a chat-like request: send it and relay (streaming) or translate (complete) the answer.
    func answer(
        _ call: PreparedCall, attempt: UpstreamAttempt, inbound: Inbound, chat: Chat, ticket: RequestMetering.Ticket
    ) async throws -> Response {
        let response = try await send(call, stream: chat.stream, inbound: inbound)
        attempt.firstByte()
        if let session = inbound.sessionId {
            await stickiness.remember(call.candidate, orgId: inbound.identity.orgId, session: session, model: chat.model)
        }
        if chat.stream {
            return streamingResponse(response, call: call, attempt: attempt, inbound: inbound, request: chat.request, model: chat.model, ticket: ticket)
        }
        let answer = try await completeResponse(response, call: call, inbound: inbound, request: chat.request, model: chat.model, ticket: ticket)
        attempt.finish(.succeeded)
        return answer
    }

    /// The organisation's candidates for the model, in the order the routing strategy tries them.
    private func routed(_ model: String, identity: APIKeyIdentity, capability: Capability, strategy requested: RoutingStrategy?) async throws -> [Candidate] {
        let candidates = try await resolver.resolve(model: model, for: identity, capability: capability)
        let strategy = planner.strategy(requested: requested, logical: resolver.logicalModel(model, orgId: identity.orgId))
        return try planner.order(candidates, strategy: strategy, orgId: identity.orgId)
    }

    /// Runs the work's attempts. When no response reaches the client, nothing was produced: the hold is released
    /// without a charge. Successful responses carry the rate-limit headers of the tightest limit that applied.
    private func attempted<Work: AttemptWork>(_ work: Work, candidates: [Candidate]) async throws -> Response {
        do {
            var response = try await inOrder(candidates, work: work)
            Self.addAdmissionHeaders(work.ticket, to: &response)
            return response
        } catch {
            await metering.close(work.ticket, candidate: nil, ending: .nothingProduced)
            throw error
        }
    }

    private static func addAdmissionHeaders(_ ticket: RequestMetering.Ticket, to response: inout Response) {
        for (name, value) in ticket.admission.headers.fields {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
    }

    /// Tries candidates in order while failures are retryable; `work.perform` must not have sent anything to the
    /// client when it throws. After the last attempt the client gets the last failure, naming how many were tried.
    private func inOrder<Work: AttemptWork>(_ candidates: [Candidate], work: Work) async throws -> Response {
        var lastFailure: UpstreamFailure?
        var attempts = 0
        var coolingDown: [CircuitBreaker.Subject] = []
        var saturated = false
        let started = ContinuousClock.now
        candidates: for candidate in candidates {
            if attempts > 0 && started.duration(to: .now) >= failoverBudget { break }
            let provider = candidate.provider
            let trialLifetime = provider.firstByteTimeout + .seconds(5)
            if await resilience.breaker.standing(.provider(provider.id), trialLifetime: trialLifetime) == .coolingDown {
                coolingDown.append(.provider(provider.id))
                continue
            }
            guard await resilience.providerWithinRate(provider) else {
                saturated = true
                continue
            }
            var refusedKeys = Set<String>()
            while attempts < maxAttempts {
                guard let key = await resilience.usableKey(of: provider, excluding: refusedKeys, trialLifetime: trialLifetime) else {
                    // Every key is cooling down or at its QPS limit: this provider is unavailable for this request.
                    saturated = true
                    continue candidates
                }
                attempts += 1
                let call = try work.prepare(candidate, key: key)
                let attempt = planner.metrics.begin(.init(providerId: provider.id, model: candidate.upstreamModel))
                do {
                    let response = try await work.perform(call, attempt: attempt)
                    await resilience.succeeded(provider: provider, key: key)
                    return response
                } catch {
                    // The client went away (closing its connection cancels this task), which cancelled the call:
                    // the provider did not fail, so nothing counts against it and no other candidate is tried.
                    if Task.isCancelled {
                        attempt.finish(.neutral)
                        throw CancellationError()
                    }
                    let failure = UpstreamFailure.classify(error)
                    attempt.finish(failure.countsAgainst(provider) ? .failed : .neutral)
                    lastFailure = failure
                    logAttemptFailure(failure, call: call, requestId: work.inbound.requestId)
                    await resilience.failed(provider: provider, key: key, failure: failure)
                    if case .status(let code, _, _) = failure, code == 401 || code == 403 {
                        refusedKeys.insert(key.id)
                        continue
                    }
                    if !failure.isRetryable(for: provider) { break candidates }
                    continue candidates
                }
            }
            break
        }
        if attempts == 0, !coolingDown.isEmpty {
            throw await resilience.allCoolingDown(coolingDown)
        }
        if attempts == 0, saturated { throw Resilience.allSaturated }
        throw (lastFailure ?? .connection("no provider")).clientError(attempts: attempts)
    }

    /// Sends the call and waits for the response head (bounded by the provider's first-byte timeout).
    /// A non-2xx answer is read (bounded) and thrown as `UpstreamFailure.status`.
    private func send(_ call: PreparedCall, stream: Bool, inbound: Inbound) async throws -> UpstreamResponse {
        let provider = call.candidate.provider
        let response = try await http.post(
            builder.url(provider, path: call.path),
            headers: builder.headers(provider, key: call.key, stream: stream, passthrough: call.passthrough ? inbound.relayHeaders : []),
            body: call.body, connectTimeout: provider.connectTimeout, firstByteTimeout: provider.firstByteTimeout,
            readTimeout: provider.readTimeout, wholeUpTo: stream ? nil : Self.maxUpstreamBody
        )
        guard (200..<300).contains(response.status) else {
            let body = (try? await response.body.collect(upTo: 256 * 1024)) ?? ByteBuffer()
            throw UpstreamFailure.status(
                response.status, UpstreamFailure.message(from: body), retryAfter: UpstreamFailure.retryAfter(response.retryAfter)
            )
        }
        return response
    }

    private func completeResponse(
        _ response: UpstreamResponse, call: PreparedCall, inbound: Inbound, request: ChatRequest, model: String, ticket: RequestMetering.Ticket
    ) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.maxUpstreamBody)
        } catch {
            throw UpstreamFailure.classify(error)
        }
        let codec = call.candidate.provider.kind.codec
        let end = end(call, inbound: inbound, model: model, request: request, ticket: ticket)
        if call.passthrough {
            // The answer goes back as it came: only its usage is read, and its text where a session turn keeps it.
            let answer: JSONObjectBytes?
            switch Result(catching: { () throws(JSONObjectBytes.Failure) in try JSONObjectBytes(body) }) {
            case .success(let object): answer = object
            case .failure(.invalid): throw UpstreamFailure.malformed("not JSON")
            case .failure(.notAnObject): answer = nil
            }
            let usage = answer.flatMap { answer in
                inbound.format == .responses ? ResponsesUsage.read(.object(answer.members(["usage"]))) : codec.reportedUsage { answer[$0] }
            }
            await finish(end, usage: usage, outcome: "completed", streamed: false, outputCharacters: body.readableBytes)
            if end.turn != nil, let answer {
                let json = JSONValue.object(answer.object())
                let text = inbound.format == .responses ? ResponsesUsage.outputText(json) : (try? codec.decodeResponse(json, model: model))?.text ?? ""
                await remember(end, output: text, outcome: "completed")
            }
            return Self.json(body)
        }
        guard let json = try? JSONText.parse(body.readableBytesView) else { throw UpstreamFailure.malformed("not JSON") }
        let decoded: ChatResponse
        do {
            decoded = try codec.decodeResponse(json, model: model)
        } catch {
            throw UpstreamFailure.malformed(error.message)
        }
        await finish(end, usage: codec.reportedUsage { json[$0] }, outcome: "completed", streamed: false, outputCharacters: body.readableBytes)
        await remember(end, output: decoded.text, outcome: "completed")
        let encoded = inbound.format.codec.encodeResponse(decoded, for: request)
        return Self.json(ByteBuffer(bytes: JSONText.bytes(encoded)))
    }

    private func streamingResponse(
        _ response: UpstreamResponse, call: PreparedCall, attempt: UpstreamAttempt, inbound: Inbound, request: ChatRequest, model: String, ticket: RequestMetering.Ticket
    ) -> Response {
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let engine = self
        // The body writer captures only what relaying and ending need: no request bodies (see RequestEnd).
        let end = end(call, inbound: inbound, model: model, request: request, ticket: ticket)
        var relay = StreamRelay(call: call, format: inbound.format, request: request, clientModel: model)
        // The answer's start is kept only where a session turn will be recorded.
        if end.turn != nil { relay.snippetLimit = context.characters + 1 }
        return Response(status: .ok, headers: headers, body: ResponseBody { [relay] writer in
            var relay = relay
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
            attempt.finish(outcome == "upstream_cut" || outcome == "upstream_error" ? .failed : .succeeded)
            await engine.remember(end, output: relay.outputSnippet, outcome: outcome)
            await engine.finish(end, usage: relay.usage, outcome: outcome, streamed: true, outputCharacters: relay.outputCharacters)
        })
    }

    /// Embeddings and image generation: OpenAI-compatible providers only, forwarded as they are (model replaced).
    func forward(
        _ body: JSONObjectBytes, capability: Capability, identity: APIKeyIdentity, requestId: String, strategy: RoutingStrategy? = nil
    ) async throws -> Response {
        let fields = Fields(body.members(["model", "n"]))
        let model = try fields.requiredString("model")
        let images = capability == .images ? max(1, try fields.int("n") ?? 1) : 0
        let candidates = try await routed(model, identity: identity, capability: capability, strategy: strategy)
        let inbound = Inbound(
            format: .chatCompletions, body: body, modelFromPath: nil, streamHint: nil, relayHeaders: [], identity: identity, requestId: requestId
        )
        let ticket = try await metering.open(
            requestId: requestId, identity: identity, candidates: candidates, bodyBytes: body.count, maxOutputTokens: 0, images: images
        )
        let work = ForwardAttempt(engine: self, inbound: inbound, ticket: ticket, capability: capability, images: images)
        return try await attempted(work, candidates: candidates)
    }

    /// One attempt at an embeddings or images request: the body goes as it came (model replaced), the answer back as it is.
    func forwarded(_ call: PreparedCall, attempt: UpstreamAttempt, inbound: Inbound, ticket: RequestMetering.Ticket, images: Int) async throws -> Response {
        let response = try await send(call, stream: false, inbound: inbound)
        attempt.firstByte()
        let bytes = try await response.body.collect(upTo: Self.maxUpstreamBody)
        attempt.finish(.succeeded)
        let usage = (try? JSONObjectBytes(bytes))?["usage"].map {
            Usage(inputTokens: Int($0["prompt_tokens"]?.intValue ?? $0["input_tokens"]?.intValue ?? 0),
                  outputTokens: Int($0["output_tokens"]?.intValue ?? 0))
        }
        // Images are priced per image; embeddings report no output, so nothing is estimated for them.
        let end = end(call, inbound: inbound, model: call.candidate.upstreamModel, request: nil, ticket: ticket)
        await finish(end, usage: usage ?? Usage(), outcome: "completed", streamed: false, outputCharacters: 0, images: images)
        return Self.json(bytes)
    }

    static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// Logs the usage record and settles the request's credits from it.
    func finish(_ end: RequestEnd, usage: Usage?, outcome: String, streamed: Bool, outputCharacters: Int, images: Int = 0) async {
        logUsage(usage, end: end, outcome: outcome, streamed: streamed)
        // An in-stream error before any output, with nothing reported: the upstream produced (and billed) nothing.
        let producedNothing = usage == nil && outputCharacters == 0 && outcome == "upstream_error"
        let ending: RequestMetering.Ending =
            producedNothing ? .nothingProduced : .produced(usage: usage, outputCharacters: outputCharacters, images: images, outcome: outcome)
        await metering.close(end.ticket, candidate: end.candidate, ending: ending)
    }

    /// With `X-Session-Id`, keeps this turn (the client's latest message and the answer, truncated) in the session's context.
    func remember(_ end: RequestEnd, output: String, outcome: String) async {
        guard let turn = end.turn else { return }
        let record = SessionContext.Turn(
            requestId: end.requestId, model: end.model, provider: end.candidate.provider.slug, input: turn.input,
            output: context.snippet(output), outcome: outcome
        )
        await context.append(record, orgId: end.identity.orgId, session: turn.session)
    }

    /// One line per proxied request with normalised usage: the record billing settles from.
    func logUsage(_ usage: Usage?, end: RequestEnd, outcome: String, streamed: Bool) {
        usageLog.info("usage", metadata: [
            "request_id": .string(end.requestId),
            "org_id": .string(end.identity.orgId),
            "key_id": .string(end.identity.keyId),
            "provider": .string(end.candidate.provider.slug),
            "upstream_model": .string(end.candidate.upstreamModel),
            "ingress": .string(end.format.rawValue),
            "streamed": .stringConvertible(streamed),
            "outcome": .string(outcome),
            "usage_reported": .stringConvertible(usage != nil),
            "input_tokens": .stringConvertible(usage?.inputTokens ?? 0),
            "output_tokens": .stringConvertible(usage?.outputTokens ?? 0),
            "cached_input_tokens": .stringConvertible(usage?.cachedInputTokens ?? 0),
            "reasoning_tokens": .stringConvertible(usage?.reasoningTokens ?? 0),
        ])
    }

    private func logAttemptFailure(_ failure: UpstreamFailure, call: PreparedCall, requestId: String) {
        usageLog.warning("upstream attempt failed", metadata: [
            "request_id": .string(requestId),
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
