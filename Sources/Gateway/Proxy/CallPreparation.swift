import Adapters
import Core
import NIOCore

/// Builds the upstream body and path for a candidate. The path comes only from provider settings; nothing in
/// the client's body is read for it.
struct CallPreparation: Sendable {
    let format: IngressFormat
    let body: JSONObjectBytes
    /// The decoded request, or the 400 it produced (only fatal when translation is needed).
    let decoded: Result<ChatRequest, APIError>
    let stream: Bool

    func prepare(_ candidate: Candidate, key: UpstreamKey) throws(APIError) -> PreparedCall {
        let provider = candidate.provider
        if format.isPassthrough(to: provider) {
            // The client's bytes with only these members set (`JSONObjectBytes.replacing`).
            var changes: [(key: String, value: JSONValue)] = []
            var strip = false
            switch format {
            case .gemini:
                break
            case .chatCompletions:
                changes.append(("model", .string(candidate.upstreamModel)))
                if stream {
                    changes.append(("stream", .bool(true)))
                    var options = body["stream_options"]?.objectValue ?? [:]
                    if options["include_usage"]?.boolValue != true {
                        options["include_usage"] = .bool(true)
                        strip = true
                    }
                    changes.append(("stream_options", .object(options)))
                }
            case .responses, .anthropicMessages:
                changes.append(("model", .string(candidate.upstreamModel)))
                if stream { changes.append(("stream", .bool(true))) }
            }
            return PreparedCall(
                candidate: candidate, key: key, path: path(for: provider, model: candidate.upstreamModel, passthrough: true),
                body: body.replacing(changes), passthrough: true, stripUsageChunk: strip
            )
        }
        let request = try decoded.get()
        return PreparedCall(
            candidate: candidate, key: key, path: path(for: provider, model: candidate.upstreamModel, passthrough: false),
            body: ByteBuffer(bytes: JSONText.bytes(provider.kind.codec.encodeRequest(request, upstreamModel: candidate.upstreamModel))),
            passthrough: false, stripUsageChunk: false
        )
    }

    private func path(for provider: ProviderSettings, model: String, passthrough: Bool) -> String {
        if passthrough && format == .responses, let responses = provider.responsesPath { return responses }
        switch provider.kind {
        case .openai: return provider.chatPath
        case .anthropic: return provider.messagesPath
        case .gemini: return UpstreamRequestBuilder.geminiPath(model: model, stream: stream)
        }
    }

    /// Weighted random choice among keys, by the weight the pool gives each (`RecentKeyFailures.weight`).
    static func pickKey(_ keys: [UpstreamKey], weight: (UpstreamKey) -> Double) -> UpstreamKey {
        guard keys.count > 1 else { return keys[0] }
        let weights = keys.map(weight)
        let total = weights.reduce(0, +)
        guard total > 0 else { return keys[0] }
        var point = Double.random(in: 0..<total)
        for (key, weight) in zip(keys, weights) {
            point -= weight
            if point < 0 { return key }
        }
        return keys[keys.count - 1]
    }
}
