import Core

/// Short-term memory of a sticky session: with `X-Session-Id`, the last turns (the client's latest message and the
/// answer, each truncated) are kept in shared state under the organisation, renewed on use and dropped after the
/// session TTL. Only the key's own organisation can read them back (`GET /context/{session}`).
public struct SessionContext: Sendable {
    let sharedState: any SharedState
    let ttl: Duration
    /// 0: nothing is stored.
    let turns: Int
    let characters: Int

    struct Turn: Sendable {
        let requestId: String
        let model: String
        let provider: String
        let input: String
        let output: String
        let outcome: String

        var json: JSONValue {
            .object([
                "at": .int(EpochMillis.now()), "request_id": .string(requestId), "model": .string(model), "provider": .string(provider),
                "input": .string(input), "output": .string(output), "outcome": .string(outcome),
            ])
        }
    }

    var isEnabled: Bool { turns > 0 }

    func key(orgId: String, session: String) -> String { "context:\(orgId):\(session)" }

    /// Adds a turn, keeping the newest `turns`. Concurrent requests of one session each land: compare-and-set, retried.
    func append(_ turn: Turn, orgId: String, session: String) async {
        guard isEnabled else { return }
        let key = key(orgId: orgId, session: session)
        let entry = turn.json
        for _ in 0..<5 {
            let current: String?
            do { current = try await sharedState.get(key) } catch { return }
            var list = current.flatMap { try? JSONText.parse(Array($0.utf8)) }?.arrayValue ?? []
            list.append(entry)
            if list.count > turns { list.removeFirst(list.count - turns) }
            if (try? await sharedState.compareAndSet(key, expected: current, new: JSONText.render(.array(list)), ttl: ttl)) == true { return }
        }
    }

    func snippet(_ text: String) -> String {
        text.count <= characters ? text : String(text.prefix(characters)) + "…"
    }

    /// The stored turns, oldest first; nil when the session has none.
    public func read(orgId: String, session: String) async throws -> JSONValue? {
        let key = key(orgId: orgId, session: session)
        guard let text = try await sharedState.get(key), let turns = try? JSONText.parse(Array(text.utf8)) else { return nil }
        let remaining = try await sharedState.timeToLive(key)
        return .object([
            "session_id": .string(session), "turns": turns, "expires_in": .int(Int64((remaining ?? .zero).seconds.rounded(.up))),
        ])
    }

    /// Deletes the session's turns; false when there were none.
    public func forget(orgId: String, session: String) async throws -> Bool {
        try await sharedState.delete(key(orgId: orgId, session: session))
    }
}
