import Core
import SQLKit

public struct Organization: Sendable, Equatable {
    public let id: String
    public let slug: String
    public let name: String
    public let status: String
}

public struct User: Sendable, Equatable {
    public let id: String
    public let email: String
    public let isSystemAdmin: Bool
    public let status: String
}

/// Reads and writes organisations, users and memberships.
public struct Directory: Sendable {
    public init() {}

    public func organization(slug: String, on db: any SQLDatabase) async throws -> Organization? {
        try await db.raw("SELECT id, slug, name, status FROM organizations WHERE slug = \(bind: slug)").first()
            .map(Self.organization)
    }

    public func createOrganization(slug: String, name: String, on db: any SQLDatabase) async throws -> Organization {
        let now = EpochMillis.now()
        let org = Organization(id: Identifier.make(), slug: slug, name: name, status: "active")
        try await db.raw(
            """
            INSERT INTO organizations (id, slug, name, status, created_at, updated_at)
            VALUES (\(bind: org.id), \(bind: slug), \(bind: name), 'active', \(bind: now), \(bind: now))
            """
        ).run()
        return org
    }

    public func user(email: String, on db: any SQLDatabase) async throws -> User? {
        try await db.raw("SELECT id, email, is_system_admin, status FROM users WHERE email = \(bind: email)").first()
            .map(Self.user)
    }

    public func createUser(
        email: String, passwordHash: String?, systemAdmin: Bool, displayName: String? = nil, emailVerified: Bool = false, on db: any SQLDatabase
    ) async throws -> User {
        let now = EpochMillis.now()
        let user = User(id: Identifier.make(), email: email, isSystemAdmin: systemAdmin, status: "active")
        try await db.raw(
            """
            INSERT INTO users (id, email, display_name, password_hash, is_system_admin, email_verified, status, created_at, updated_at)
            VALUES (\(bind: user.id), \(bind: email), \(bind: displayName), \(bind: passwordHash), \(bind: systemAdmin),
                    \(bind: emailVerified), 'active', \(bind: now), \(bind: now))
            """
        ).run()
        return user
    }

    public func promoteToSystemAdmin(userId: String, on db: any SQLDatabase) async throws {
        try await db.raw(
            "UPDATE users SET is_system_admin = \(bind: true), updated_at = \(bind: EpochMillis.now()) WHERE id = \(bind: userId)"
        ).run()
    }

    public func role(of userId: String, in orgId: String, on db: any SQLDatabase) async throws -> String? {
        try await db.raw("SELECT role FROM memberships WHERE org_id = \(bind: orgId) AND user_id = \(bind: userId)").first()
            .map { try $0.decode(column: "role", as: String.self) }
    }

    public func addMember(userId: String, orgId: String, role: String, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO memberships (org_id, user_id, role, created_at)
            VALUES (\(bind: orgId), \(bind: userId), \(bind: role), \(bind: EpochMillis.now()))
            """
        ).run()
    }

    private static func organization(_ row: any SQLRow) throws -> Organization {
        Organization(
            id: try row.decode(column: "id", as: String.self),
            slug: try row.decode(column: "slug", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            status: try row.decode(column: "status", as: String.self)
        )
    }

    private static func user(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            isSystemAdmin: try row.decode(column: "is_system_admin", as: Bool.self),
            status: try row.decode(column: "status", as: String.self)
        )
    }
}
