import Core
import HTTPTypes

/// `X-Session-Id`: the first upstream chosen for a session is remembered in shared state (so every instance
/// agrees) and tried first while it stays usable; when it cannot serve, failover picks another, which is
/// remembered instead. Entries live `ttl` after their last use.
public struct SessionStickiness: Sendable {
    private let sharedState: any SharedState
    let ttl: Duration

    public init(sharedState: any SharedState, ttl: Duration) {
        self.sharedState = sharedState
        self.ttl = ttl
    }

    public static let header = HTTPField.Name("X-Session-Id")!

    /// The client's session id: 1-128 printable ASCII characters, or 400.
    public static func sessionId(_ value: String?) throws(APIError) -> String? {
        guard let value else { return nil }
        let bytes = Array(value.utf8)
        guard (1...128).contains(bytes.count), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("X-Session-Id must be 1-128 printable ASCII characters without spaces", param: "X-Session-Id")
        }
        return value
    }

    private func key(orgId: String, session: String) -> String { "sticky:\(orgId):\(session)" }

    /// The candidates with the session's remembered upstream first (when it is among them and was chosen for this model).
    func ordered(_ candidates: [Candidate], orgId: String, session: String, model: String) async -> [Candidate] {
        guard let entry = try? await sharedState.get(key(orgId: orgId, session: session)), let remembered = Entry(entry),
            remembered.model == model,
            let index = candidates.firstIndex(where: { $0.provider.id == remembered.providerId && $0.upstreamModel == remembered.upstreamModel })
        else { return candidates }
        var ordered = candidates
        ordered.insert(ordered.remove(at: index), at: 0)
        return ordered
    }

    func remember(_ candidate: Candidate, orgId: String, session: String, model: String) async {
        let entry = Entry(providerId: candidate.provider.id, providerSlug: candidate.provider.slug, upstreamModel: candidate.upstreamModel, model: model)
        try? await sharedState.set(key(orgId: orgId, session: session), entry.text, ttl: ttl)
    }

    /// What the session is pinned to, for `GET …/routing/sessions/{session}`.
    public func describe(orgId: String, session: String) async throws -> JSONValue? {
        let key = key(orgId: orgId, session: session)
        guard let text = try await sharedState.get(key), let entry = Entry(text) else { return nil }
        let remaining = try await sharedState.timeToLive(key)
        return .object([
            "session_id": .string(session), "model": .string(entry.model), "provider_id": .string(entry.providerId),
            "provider": .string(entry.providerSlug), "upstream_model": .string(entry.upstreamModel),
            "expires_in": .int(Int64((remaining ?? .zero).seconds.rounded(.up))),
        ])
    }

    /// Forgets the session; false when there was nothing to forget.
    public func forget(orgId: String, session: String) async throws -> Bool {
        try await sharedState.delete(key(orgId: orgId, session: session))
    }

    struct Entry: Sendable {
        let providerId: String
        let providerSlug: String
        let upstreamModel: String
        let model: String

        init(providerId: String, providerSlug: String, upstreamModel: String, model: String) {
            self.providerId = providerId
            self.providerSlug = providerSlug
            self.upstreamModel = upstreamModel
            self.model = model
        }

        init?(_ text: String) {
            guard let json = try? JSONText.parse(Array(text.utf8)), let provider = json["provider_id"]?.stringValue,
                let slug = json["provider"]?.stringValue, let upstream = json["upstream_model"]?.stringValue, let model = json["model"]?.stringValue
            else { return nil }
            self.init(providerId: provider, providerSlug: slug, upstreamModel: upstream, model: model)
        }

        var text: String {
            JSONText.render(.object([
                "provider_id": .string(providerId), "provider": .string(providerSlug), "upstream_model": .string(upstreamModel), "model": .string(model),
            ]))
        }
    }
}
