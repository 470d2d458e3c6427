import Core

/// A signed-in user, established from an access token (Bearer header or the browser cookie).
public struct Principal: Sendable, Equatable {
    public let userId: String
    public let email: String
    public let sessionId: String
    public let isSystemAdmin: Bool
    /// Cookie-authenticated calls must prove same-origin with the CSRF header on unsafe methods.
    public let viaCookie: Bool

    public var actor: Actor { .user(userId) }
}

/// The caller's standing in the organisation named by the path.
public struct OrgAccess: Sendable, Equatable {
    public let org: Organization
    public let role: String
    public let permissions: Set<Permission>

    public var isOwner: Bool { role == BuiltInRole.owner.rawValue }

    public func require(_ permission: Permission) throws(APIError) {
        guard permissions.contains(permission) else {
            throw .forbidden("this requires the '\(permission.rawValue)' permission in '\(org.slug)'", code: "permission_denied")
        }
    }
}

/// Where a call came from, for the audit log and device records.
public struct ClientInfo: Sendable, Equatable {
    public let ip: String?
    public let userAgent: String?

    public init(ip: String?, userAgent: String?) {
        self.ip = ip
        self.userAgent = userAgent.map { String($0.prefix(400)) }
    }
}
