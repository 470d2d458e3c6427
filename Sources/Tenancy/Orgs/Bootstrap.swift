import Core

/// Creates the first system administrator and their organisation. Idempotent: running it again with the same
/// arguments changes nothing and returns the same ids; an existing user keeps their password.
public struct Bootstrap: Sendable {
    public struct Result: Sendable, Equatable {
        public let userId: String
        public let orgId: String
    }

    private let database: Database
    private let passwords: PasswordHasher
    private let directory = Directory()
    private let audit = AuditLog()

    public init(database: Database, passwords: PasswordHasher) {
        self.database = database
        self.passwords = passwords
    }

    public func run(email rawEmail: String, password: String, orgSlug: String, orgName: String?) async throws -> Result {
        let email = try InputRules.normalizedEmail(rawEmail)
        try InputRules.validatePassword(password)
        try InputRules.validateSlug(orgSlug)
        let name = orgName ?? orgSlug
        try InputRules.validateName(name, field: "org-name")
        // Hash outside the transaction: bcrypt is slow and the SQLite write lock is shared.
        let passwordHash = try await passwords.hash(password)
        let directory = self.directory
        let audit = self.audit
        return try await database.transaction { db in
            var user = try await directory.user(email: email, on: db)
            if user == nil {
                user = try await directory.createUser(email: email, passwordHash: passwordHash, systemAdmin: true, on: db)
                try await audit.append(
                    .init(orgId: nil, actor: .cli, action: "user.created", targetKind: "user", targetId: user!.id, details: ["system_admin": .bool(true)]),
                    on: db
                )
            } else if user!.isSystemAdmin == false {
                try await directory.promoteToSystemAdmin(userId: user!.id, on: db)
                try await audit.append(.init(orgId: nil, actor: .cli, action: "user.promoted_system_admin", targetKind: "user", targetId: user!.id), on: db)
            }
            let userId = user!.id
            var org = try await directory.organization(slug: orgSlug, on: db)
            if org == nil {
                org = try await directory.createOrganization(slug: orgSlug, name: name, on: db)
                try await audit.append(.init(orgId: org!.id, actor: .cli, action: "org.created", targetKind: "organization", targetId: org!.id), on: db)
            }
            let orgId = org!.id
            if try await directory.role(of: userId, in: orgId, on: db) == nil {
                try await directory.addMember(userId: userId, orgId: orgId, role: "owner", on: db)
                try await audit.append(
                    .init(orgId: orgId, actor: .cli, action: "member.added", targetKind: "user", targetId: userId, details: ["role": .string("owner")]),
                    on: db
                )
            }
            return Result(userId: userId, orgId: orgId)
        }
    }
}
