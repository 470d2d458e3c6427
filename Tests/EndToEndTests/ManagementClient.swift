import Foundation
import NIOHTTP1
import TestSupport

/// A signed-in user of the management API on a running server.
struct ManagementClient: Sendable {
    let baseURL: String
    let accessToken: String
    let refreshToken: String
    let sessionId: String
    let userId: String

    /// Signs in with email and password (expects success).
    static func login(_ server: ServerProcess, email: String, password: String, headers: [(String, String)] = []) async throws -> ManagementClient {
        let reply = try await http.send(
            .POST, "\(server.baseURL)/auth/login", headers: [("Content-Type", "application/json")] + headers,
            body: json(["email": email, "password": password])
        )
        guard reply.status == 200 else { throw TestSetupError("login of \(email) failed: \(reply.status) \(reply.body)") }
        return try ManagementClient(baseURL: server.baseURL, tokens: reply.json())
    }

    /// Registers (open registration or with an invitation) and returns the signed-in client.
    static func register(_ server: ServerProcess, email: String, password: String = "password1", invitation: String? = nil) async throws -> ManagementClient {
        var body: [String: Any] = ["email": email, "password": password]
        if let invitation { body["invitation_token"] = invitation }
        let reply = try await http.send(.POST, "\(server.baseURL)/auth/register", headers: [("Content-Type", "application/json")], body: json(body))
        guard reply.status == 201 else { throw TestSetupError("register of \(email) failed: \(reply.status) \(reply.body)") }
        return try ManagementClient(baseURL: server.baseURL, tokens: reply.json())
    }

    init(baseURL: String, tokens: [String: Any]) throws {
        guard let access = tokens["access_token"] as? String, let refresh = tokens["refresh_token"] as? String,
            let session = tokens["session_id"] as? String, let user = tokens["user_id"] as? String
        else { throw TestSetupError("token response lacks fields: \(tokens)") }
        self.baseURL = baseURL
        self.accessToken = access
        self.refreshToken = refresh
        self.sessionId = session
        self.userId = user
    }

    func send(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil, headers: [(String, String)] = []) async throws -> HTTPTestClient.Reply {
        var all = [("Authorization", "Bearer \(accessToken)")] + headers
        if body != nil { all.append(("Content-Type", "application/json")) }
        return try await http.send(method, baseURL + path, headers: all, body: try body.map(json))
    }

    func get(_ path: String) async throws -> HTTPTestClient.Reply { try await send(.GET, path) }
}

func json(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

extension HTTPTestClient.Reply {
    /// The RFC 9457 problem body; fails the caller's expectations when the content type is wrong.
    func problem() throws -> [String: Any] {
        guard headers.first(name: "content-type")?.hasPrefix("application/problem+json") == true else {
            throw TestSetupError("expected problem+json, got \(headers.first(name: "content-type") ?? "none"): \(body)")
        }
        return try json()
    }

    var problemType: String? { (try? problem())?["type"] as? String }
}
