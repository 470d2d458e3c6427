import Adapters
import AsyncHTTPClient
import Core
import NIOCore

/// What one probe saw, handed to the prober's observer (live routing metrics).
public struct ProbeObservation: Sendable, Equatable {
    /// The probe model when the probe was a chat request; nil for a models-list probe.
    public let model: String?
    /// Until the response head arrived, or until the probe failed.
    public let latency: Duration
    public let succeeded: Bool

    public init(model: String?, latency: Duration, succeeded: Bool) {
        self.model = model
        self.latency = latency
        self.succeeded = succeeded
    }
}

/// One cheap probe of a provider with its first key: a one-token chat request for the probe model when the
/// provider offers it, otherwise `GET models_path`. Both in the provider's own protocol, within its timeouts.
struct HealthProbe: Sendable {
    let http: UpstreamHTTP
    let builder: UpstreamRequestBuilder
    let catalog: ModelCatalog
    let probeModel: String?

    struct Outcome: Sendable {
        let model: String?
        let latency: Duration
        /// Short and redacted; nil when the provider answered well enough.
        let failure: String?
    }

    func run(_ provider: ProviderSettings) async -> Outcome {
        guard let key = provider.keys.first else { return Outcome(model: nil, latency: .zero, failure: "the provider has no active key") }
        var model: String?
        if let probeModel, await catalog.models(of: provider).contains(probeModel) { model = probeModel }
        let request = model.map { chatRequest(provider, key: key, model: $0) } ?? catalog.modelsRequest(provider, key: key)
        let client = http.client(connectTimeout: provider.connectTimeout, readTimeout: provider.firstByteTimeout)
        let started = ContinuousClock.now
        do {
            let response = try await client.execute(request, timeout: .init(provider.firstByteTimeout))
            let latency = started.duration(to: .now)
            let code = Int(response.status.code)
            guard !Self.isFailure(code) else {
                let body = (try? await response.body.collect(upTo: 64 * 1024)) ?? ByteBuffer()
                return Outcome(model: model, latency: latency, failure: Self.short(.status(code, UpstreamFailure.message(from: body))))
            }
            // Anything else means the provider is there (a 404 from the models path is inconclusive, not a failure).
            // The body is read only to hand the connection back to the pool.
            do { for try await _ in response.body {} } catch {}
            return Outcome(model: model, latency: latency, failure: nil)
        } catch {
            return Outcome(model: model, latency: started.duration(to: .now), failure: Self.short(UpstreamFailure.classify(error)))
        }
    }

    /// Server errors, refused credentials and rate limiting: the provider cannot serve us now.
    static func isFailure(_ code: Int) -> Bool { code >= 500 || [401, 403, 429].contains(code) }

    static func short(_ failure: UpstreamFailure) -> String { UpstreamFailure.redact(String(failure.summary.prefix(200))) }

    /// A one-token chat request, encoded by the provider's codec and sent to the path a translated call uses.
    private func chatRequest(_ provider: ProviderSettings, key: UpstreamKey, model: String) -> HTTPClientRequest {
        let chat = ChatRequest(model: model, messages: [ChatMessage(role: .user, parts: [.text("ping")])], maxOutputTokens: 1)
        let path =
            switch provider.kind {
            case .openai: provider.chatPath
            case .anthropic: provider.messagesPath
            case .gemini: UpstreamRequestBuilder.geminiPath(model: model, stream: false)
            }
        var request = HTTPClientRequest(url: builder.url(provider, path: path))
        request.method = .POST
        request.headers = builder.headers(provider, key: key, stream: false)
        request.body = .bytes(ByteBuffer(bytes: JSONText.bytes(provider.kind.codec.encodeRequest(chat, upstreamModel: model))))
        return request
    }
}
