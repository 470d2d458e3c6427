import Core
import SQLKit

/// Who did something: a user, an API key, the operator's CLI, or the system itself.
public struct Actor: Sendable, Equatable {
    public let kind: String
    public let id: String?

    public static let cli = Actor(kind: "cli", id: nil)
    public static let system = Actor(kind: "system", id: nil)
    public static func user(_ id: String) -> Actor { Actor(kind: "user", id: id) }
    public static func apiKey(_ id: String) -> Actor { Actor(kind: "api_key", id: id) }
}

/// Append-only record of security-relevant actions.
public struct AuditLog: Sendable {
    public struct Entry: Sendable {
        public var orgId: String?
        public var actor: Actor
        public var action: String
        public var targetKind: String?
        public var targetId: String?
        public var ip: String?
        public var userAgent: String?
        public var details: [String: JSONValue]

        public init(
            orgId: String?, actor: Actor, action: String, targetKind: String? = nil, targetId: String? = nil,
            ip: String? = nil, userAgent: String? = nil, details: [String: JSONValue] = [:]
        ) {
            self.orgId = orgId
            self.actor = actor
            self.action = action
            self.targetKind = targetKind
            self.targetId = targetId
            self.ip = ip
            self.userAgent = userAgent
            self.details = details
        }
    }

    public init() {}

    /// Appends within the caller's transaction, so the record exists exactly when the action does.
    public func append(_ entry: Entry, on db: any SQLDatabase) async throws {
        let details = entry.details.isEmpty ? nil : JSONText.object(entry.details)
        try await db.raw(
            """
            INSERT INTO audit_log (id, org_id, actor_kind, actor_id, action, target_kind, target_id, ip, user_agent, details, created_at)
            VALUES (\(bind: Identifier.make()), \(bind: entry.orgId), \(bind: entry.actor.kind), \(bind: entry.actor.id),
                    \(bind: entry.action), \(bind: entry.targetKind), \(bind: entry.targetId), \(bind: entry.ip),
                    \(bind: entry.userAgent), \(bind: details), \(bind: EpochMillis.now()))
            """
        ).run()
    }
}
