import Core
import Hummingbird
import NIOCore

/// `/healthz`: the process answers. `/readyz`: the database and shared state answer too (503 with reasons otherwise).
struct HealthRoutes: Sendable {
    let database: Database
    let sharedState: any SharedState

    func register(on router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in json(.ok, ["status": .string("ok")]) }
        router.get("readyz") { _, _ in
            var reasons: [String: JSONValue] = [:]
            let database = self.database
            let sharedState = self.sharedState
            do {
                try await withTimeout(.seconds(2), "database") { try await database.ping() }
            } catch {
                reasons["database"] = .string("unreachable")
            }
            do {
                try await withTimeout(.seconds(2), "shared state") { try await sharedState.ping() }
            } catch {
                reasons["shared_state"] = .string("unreachable")
            }
            if reasons.isEmpty { return json(.ok, ["status": .string("ready")]) }
            return json(.serviceUnavailable, ["status": .string("unavailable"), "reasons": .object(reasons)])
        }
    }

    private func json(_ status: HTTPResponse.Status, _ body: [String: JSONValue]) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: JSONText.object(body))))
    }
}
