import Core
import HTTPTypes
import Hummingbird
import SQLKit

/// Establishes who is calling a management endpoint and what they may do in an organisation.
public struct PrincipalResolver: Sendable {
    public static let accessCookie = "ahg_access"

    private let database: Database
    private let tokens: AccessTokens
    private let csrf: SessionCSRF
    private let roles = RoleCatalog()

    public init(database: Database, tokens: AccessTokens, csrf: SessionCSRF) {
        self.database = database
        self.tokens = tokens
        self.csrf = csrf
    }

    /// nil when the request carries no credentials; 401 when it carries bad or ended ones.
    public func principal(for request: Request) async throws -> Principal? {
        let (token, viaCookie): (String, Bool)
        if let bearer = Self.bearerToken(request) {
            (token, viaCookie) = (bearer, false)
        } else if let cookie = request.cookies[Self.accessCookie]?.value, !cookie.isEmpty {
            (token, viaCookie) = (cookie, true)
        } else {
            return nil
        }
        guard let claims = await tokens.verify(token) else {
            throw APIError.unauthorized("access token is invalid or has expired; refresh it or sign in again", code: "invalid_token")
        }
        let row = try await database.first(
            """
            SELECT u.email, u.status, u.token_version, u.is_system_admin, s.revoked_at, s.expires_at
            FROM login_sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = \(bind: claims.sid) AND s.user_id = \(bind: claims.sub.value)
            """
        )
        guard let row, try row.decodeNil(column: "revoked_at"), try row.decode(column: "expires_at", as: Int64.self) > EpochMillis.now(),
            try row.decode(column: "status", as: String.self) == "active",
            try row.decode(column: "token_version", as: Int64.self) == claims.ver
        else {
            throw APIError.unauthorized("this session has ended; sign in again", code: "session_ended")
        }
        if viaCookie, !Self.isSafe(request.method), !csrf.isValid(request.headers[.csrfToken], sessionId: claims.sid) {
            throw APIError.forbidden("cookie-authenticated requests must send the X-CSRF-Token header (value of the ahg_csrf cookie)", code: "csrf_failed")
        }
        return Principal(
            userId: claims.sub.value, email: try row.decode(column: "email", as: String.self), sessionId: claims.sid,
            isSystemAdmin: try row.decode(column: "is_system_admin", as: Bool.self), viaCookie: viaCookie
        )
    }

    /// The caller's membership in the organisation named by id or slug. Not a member (or no such organisation):
    /// 404, so ids of other organisations reveal nothing. Suspended: 403.
    public func orgAccess(_ principal: Principal, orgRef: String) async throws -> OrgAccess {
        let roles = self.roles
        return try await database.withConnection { db in
            guard let row = try await db.raw(
                """
                SELECT o.id, o.slug, o.name, o.status, m.role FROM organizations o JOIN memberships m ON m.org_id = o.id
                WHERE m.user_id = \(bind: principal.userId) AND (o.id = \(bind: orgRef) OR o.slug = \(bind: orgRef))
                """
            ).first() else {
                throw APIError.notFound("organization '\(orgRef)' not found", code: "organization_not_found")
            }
            let org = try Self.activeOrganization(row)
            let role = try row.decode(column: "role", as: String.self)
            return OrgAccess(org: org, role: role, permissions: try await roles.permissions(role: role, orgId: org.id, on: db))
        }
    }

    /// An API key's standing in its own organisation: the permissions keys hold (`Permission.heldByAPIKeys`).
    public func keyAccess(_ identity: APIKeyIdentity) async throws -> OrgAccess {
        guard let row = try await database.first(
            "SELECT id, slug, name, status FROM organizations WHERE id = \(bind: identity.orgId)"
        ) else {
            throw APIError.notFound("organization not found", code: "organization_not_found")
        }
        return OrgAccess(org: try Self.activeOrganization(row), role: "api_key", permissions: Permission.heldByAPIKeys)
    }

    /// The organisation in a row of `id, slug, name, status`; a suspended one is 403.
    static func activeOrganization(_ row: any SQLRow) throws -> Organization {
        let org = Organization(
            id: try row.decode(column: "id", as: String.self), slug: try row.decode(column: "slug", as: String.self),
            name: try row.decode(column: "name", as: String.self), status: try row.decode(column: "status", as: String.self)
        )
        guard org.status == "active" else {
            throw APIError.forbidden("organization '\(org.slug)' is suspended", code: "organization_suspended")
        }
        return org
    }

    /// An API key sent as `Authorization: Bearer` or `x-api-key`.
    static func presentedAPIKey(_ request: Request) -> String? {
        bearerToken(request) ?? request.headers[HTTPField.Name("x-api-key")!]
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }
}

extension HTTPField.Name {
    public static let csrfToken = HTTPField.Name("X-CSRF-Token")!
}
