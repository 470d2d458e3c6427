import Core
import SQLKit

/// Login sessions: one per sign-in on a device, each with a family of refresh tokens that rotate on every use.
/// Presenting a rotated token again revokes the family (the session), unless it happens within the grace window
/// of its rotation, in which case the same successor is returned (two tabs refreshing at once).
public struct LoginSessions: Sendable {
    private let database: Database
    private let keyRing: KeyRing
    private let tokens: AccessTokens
    private let csrf: SessionCSRF
    private let settings: AuthSettings
    private let devices: Devices
    private let notifications = Notifications()
    private let audit = AuditLog()

    public init(database: Database, keyRing: KeyRing, tokens: AccessTokens, settings: AuthSettings) {
        self.database = database
        self.keyRing = keyRing
        self.tokens = tokens
        self.csrf = SessionCSRF(keyRing: keyRing)
        self.settings = settings
        self.devices = Devices(keyRing: keyRing)
    }

    /// Starts a session for a user who has just proved who they are (`method`: password, register, oauth:github…).
    /// Records the device; a new device or a known device on a new network is audited and notified.
    public func start(userId: String, method: String, client: ClientInfo, deviceToken: String) async throws -> IssuedTokens {
        let refresh = RefreshTokenFormat.random()
        let refreshHash = keyRing.hash(refresh, purpose: .tokenHash)
        let now = EpochMillis.now()
        let expiresAt = now + settings.refreshTokenLifetime.milliseconds
        let sessionId = Identifier.make()
        let (devices, notifications, audit) = (self.devices, self.notifications, self.audit)
        let version: Int64 = try await database.transaction { db in
            guard let user = try await db.raw("SELECT status, token_version FROM users WHERE id = \(bind: userId)").first(),
                try user.decode(column: "status", as: String.self) == "active"
            else { throw APIError.forbidden("this account is disabled", code: "account_disabled") }
            let hadDevices = try await db.raw("SELECT id FROM devices WHERE user_id = \(bind: userId) LIMIT 1").first() != nil
            let sighting = try await devices.record(userId: userId, deviceToken: deviceToken, client: client, on: db)
            let where_ = ["ip": client.ip.map(JSONValue.string) ?? .null, "user_agent": client.userAgent.map(JSONValue.string) ?? .null]
            if sighting.isNewDevice && hadDevices {
                try await audit.append(.init(orgId: nil, actor: .user(userId), action: "login.new_device", targetKind: "device", targetId: sighting.deviceId, ip: client.ip, userAgent: client.userAgent), on: db)
                try await notifications.notify(userId: userId, kind: "login.new_device", message: "New sign-in from a device not seen before", details: where_, on: db)
            } else if sighting.isNewNetwork {
                try await audit.append(.init(orgId: nil, actor: .user(userId), action: "login.new_network", targetKind: "device", targetId: sighting.deviceId, ip: client.ip, userAgent: client.userAgent), on: db)
                try await notifications.notify(userId: userId, kind: "login.new_network", message: "Sign-in from a new network on a known device", details: where_, on: db)
            }
            try await db.raw(
                """
                INSERT INTO login_sessions (id, user_id, device_id, method, ip, user_agent, created_at, last_used_at, expires_at)
                VALUES (\(bind: sessionId), \(bind: userId), \(bind: sighting.deviceId), \(bind: method), \(bind: client.ip),
                        \(bind: client.userAgent), \(bind: now), \(bind: now), \(bind: expiresAt))
                """
            ).run()
            try await Self.insertRefresh(hash: refreshHash, sessionId: sessionId, generation: 0, now: now, expiresAt: expiresAt, on: db)
            try await audit.append(
                .init(orgId: nil, actor: .user(userId), action: "login.succeeded", targetKind: "session", targetId: sessionId, ip: client.ip, userAgent: client.userAgent, details: ["method": .string(method)]),
                on: db
            )
            return try user.decode(column: "token_version", as: Int64.self)
        }
        return try await issue(userId: userId, sessionId: sessionId, version: version, refresh: refresh, refreshExpiresAt: expiresAt)
    }

    private enum RefreshOutcome: Sendable {
        case issued(userId: String, sessionId: String, version: Int64, refresh: String, expiresAt: Int64)
        case reuseDetected
    }

    /// Rotates a refresh token. 401 for unknown, expired or revoked tokens; reuse outside the grace window revokes
    /// the session (committed before the 401 is returned).
    public func refresh(_ token: String, client: ClientInfo) async throws -> IssuedTokens {
        guard RefreshTokenFormat.isWellFormed(token) else { throw Self.invalidRefresh }
        let keyRing = self.keyRing
        let graceMillis = settings.refreshGracePeriod.milliseconds
        let lifetime = settings.refreshTokenLifetime.milliseconds
        let (audit, notifications) = (self.audit, self.notifications)
        let outcome: RefreshOutcome = try await database.transaction { db in
            let now = EpochMillis.now()
            guard let row = try await Self.tokenRow(hash: keyRing.hash(token, purpose: .tokenHash), on: db) else { throw Self.invalidRefresh }
            guard row.sessionActive(now: now), row.userActive else { throw Self.sessionEnded }
            guard row.expiresAt > now else { throw APIError.unauthorized("refresh token has expired; sign in again", code: "refresh_token_expired") }
            if row.rotatedAt == nil {
                let claimed = try await db.raw(
                    "UPDATE refresh_tokens SET rotated_at = \(bind: now) WHERE id = \(bind: row.id) AND rotated_at IS NULL RETURNING id"
                ).all()
                if !claimed.isEmpty {
                    let successor = RefreshTokenFormat.successor(of: token, keyRing: keyRing)
                    let expiresAt = now + lifetime
                    try await Self.insertRefresh(
                        hash: keyRing.hash(successor, purpose: .tokenHash), sessionId: row.sessionId, generation: row.generation + 1,
                        now: now, expiresAt: expiresAt, on: db
                    )
                    try await db.raw(
                        """
                        UPDATE login_sessions SET last_used_at = \(bind: now), expires_at = \(bind: expiresAt), ip = \(bind: client.ip),
                            user_agent = \(bind: client.userAgent) WHERE id = \(bind: row.sessionId)
                        """
                    ).run()
                    return .issued(userId: row.userId, sessionId: row.sessionId, version: row.tokenVersion, refresh: successor, expiresAt: expiresAt)
                }
            }
            // Already rotated (maybe a moment ago by a concurrent request): within the grace window, hand back the
            // newest token of the chain; otherwise this is reuse of a stolen or stale token.
            var current = token
            var rotatedAt = try await Self.tokenRow(hash: keyRing.hash(token, purpose: .tokenHash), on: db)?.rotatedAt ?? now
            for _ in 0..<8 where now - rotatedAt <= graceMillis {
                current = RefreshTokenFormat.successor(of: current, keyRing: keyRing)
                guard let next = try await Self.tokenRow(hash: keyRing.hash(current, purpose: .tokenHash), on: db),
                    next.sessionId == row.sessionId
                else { break }
                guard let nextRotated = next.rotatedAt else {
                    return .issued(userId: row.userId, sessionId: row.sessionId, version: row.tokenVersion, refresh: current, expiresAt: next.expiresAt)
                }
                rotatedAt = nextRotated
            }
            try await db.raw(
                """
                UPDATE login_sessions SET revoked_at = \(bind: now), revoked_reason = 'refresh_token_reuse'
                WHERE id = \(bind: row.sessionId) AND revoked_at IS NULL
                """
            ).run()
            try await audit.append(
                .init(orgId: nil, actor: .system, action: "session.refresh_reuse_detected", targetKind: "session", targetId: row.sessionId, ip: client.ip, userAgent: client.userAgent),
                on: db
            )
            try await notifications.notify(
                userId: row.userId, kind: "session.refresh_reuse_detected",
                message: "A sign-in session was ended because an old refresh token was used again", details: ["session_id": .string(row.sessionId)], on: db
            )
            return .reuseDetected
        }
        switch outcome {
        case .reuseDetected:
            throw APIError.unauthorized("refresh token was already used; the session has been revoked, sign in again", code: "refresh_token_reused")
        case .issued(let userId, let sessionId, let version, let refresh, let expiresAt):
            return try await issue(userId: userId, sessionId: sessionId, version: version, refresh: refresh, refreshExpiresAt: expiresAt)
        }
    }

    /// Ends one session of the user. 404 when it is not theirs.
    public func revoke(sessionId: String, userId: String, reason: String, client: ClientInfo) async throws {
        let audit = self.audit
        try await database.transaction { db in
            guard try await db.raw("SELECT id FROM login_sessions WHERE id = \(bind: sessionId) AND user_id = \(bind: userId)").first() != nil else {
                throw APIError.notFound("session '\(sessionId)' not found", code: "session_not_found")
            }
            let revoked = try await db.raw(
                """
                UPDATE login_sessions SET revoked_at = \(bind: EpochMillis.now()), revoked_reason = \(bind: reason)
                WHERE id = \(bind: sessionId) AND revoked_at IS NULL RETURNING id
                """
            ).all()
            if !revoked.isEmpty {
                try await audit.append(
                    .init(orgId: nil, actor: .user(userId), action: "session.revoked", targetKind: "session", targetId: sessionId, ip: client.ip, userAgent: client.userAgent, details: ["reason": .string(reason)]),
                    on: db
                )
            }
        }
    }

    /// Ends every session of the user except `keep`. Without `keep`, also bumps the token version so every
    /// access token stops at once.
    public func revokeAll(userId: String, keep: String?, reason: String, actor: Actor, client: ClientInfo?, on db: any SQLDatabase) async throws {
        let now = EpochMillis.now()
        try await db.raw(
            """
            UPDATE login_sessions SET revoked_at = \(bind: now), revoked_reason = \(bind: reason)
            WHERE user_id = \(bind: userId) AND revoked_at IS NULL AND id <> \(bind: keep ?? "")
            """
        ).run()
        if keep == nil {
            try await db.raw("UPDATE users SET token_version = token_version + 1, updated_at = \(bind: now) WHERE id = \(bind: userId)").run()
        }
        try await audit.append(
            .init(orgId: nil, actor: actor, action: "session.revoked_all", targetKind: "user", targetId: userId, ip: client?.ip, userAgent: client?.userAgent, details: ["reason": .string(reason), "kept_current": .bool(keep != nil)]),
            on: db
        )
    }

    public func revokeAll(userId: String, keep: String?, reason: String, actor: Actor, client: ClientInfo?) async throws {
        try await database.transaction { db in
            try await self.revokeAll(userId: userId, keep: keep, reason: reason, actor: actor, client: client, on: db)
        }
    }

    /// The user's live sessions with their devices, newest first.
    public func list(userId: String, current: String?) async throws -> [JSONValue] {
        let rows = try await database.query(
            """
            SELECT s.id, s.method, s.ip, s.user_agent, s.created_at, s.last_used_at, s.expires_at,
                   d.id AS device_id, d.first_seen_at, d.last_seen_at, d.last_ip, d.last_network, d.user_agent AS device_user_agent
            FROM login_sessions s LEFT JOIN devices d ON d.id = s.device_id
            WHERE s.user_id = \(bind: userId) AND s.revoked_at IS NULL AND s.expires_at > \(bind: EpochMillis.now())
            ORDER BY s.id DESC
            """
        )
        return try rows.map { row in
            let id = try row.decode(column: "id", as: String.self)
            let ip = try row.decode(column: "ip", as: String?.self)
            var device: JSONValue = .null
            if let deviceId = try row.decode(column: "device_id", as: String?.self) {
                device = .object([
                    "id": .string(deviceId),
                    "user_agent": (try row.decode(column: "device_user_agent", as: String?.self)).map(JSONValue.string) ?? .null,
                    "first_seen_at": .int(try row.decode(column: "first_seen_at", as: Int64.self)),
                    "last_seen_at": .int(try row.decode(column: "last_seen_at", as: Int64.self)),
                    "last_ip": (try row.decode(column: "last_ip", as: String?.self)).map(JSONValue.string) ?? .null,
                ])
            }
            return .object([
                "id": .string(id),
                "current": .bool(id == current),
                "method": .string(try row.decode(column: "method", as: String.self)),
                "created_at": .int(try row.decode(column: "created_at", as: Int64.self)),
                "last_used_at": .int(try row.decode(column: "last_used_at", as: Int64.self)),
                "expires_at": .int(try row.decode(column: "expires_at", as: Int64.self)),
                "user_agent": (try row.decode(column: "user_agent", as: String?.self)).map(JSONValue.string) ?? .null,
                // No geolocation database ships with the gateway: location is the address and its network.
                "location": .object([
                    "ip": ip.map(JSONValue.string) ?? .null,
                    "network": ip.map { .string(Devices.network(of: $0)) } ?? .null,
                ]),
                "device": device,
            ])
        }
    }

    private func issue(userId: String, sessionId: String, version: Int64, refresh: String, refreshExpiresAt: Int64) async throws -> IssuedTokens {
        let access = try await tokens.issue(userId: userId, sessionId: sessionId, tokenVersion: version)
        return IssuedTokens(
            userId: userId, sessionId: sessionId, accessToken: access,
            accessExpiresAt: EpochMillis.now() + tokens.lifetime.milliseconds, refreshToken: refresh,
            refreshExpiresAt: refreshExpiresAt, csrfToken: csrf.token(sessionId: sessionId)
        )
    }

    private static func insertRefresh(hash: String, sessionId: String, generation: Int64, now: Int64, expiresAt: Int64, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO refresh_tokens (id, session_id, token_hash, generation, created_at, expires_at)
            VALUES (\(bind: Identifier.make()), \(bind: sessionId), \(bind: hash), \(bind: generation), \(bind: now), \(bind: expiresAt))
            """
        ).run()
    }

    private struct TokenRow: Sendable {
        let id: String
        let sessionId: String
        let generation: Int64
        let expiresAt: Int64
        let rotatedAt: Int64?
        let userId: String
        let sessionRevoked: Bool
        let sessionExpiresAt: Int64
        let userActive: Bool
        let tokenVersion: Int64

        func sessionActive(now: Int64) -> Bool { !sessionRevoked && sessionExpiresAt > now }
    }

    private static func tokenRow(hash: String, on db: any SQLDatabase) async throws -> TokenRow? {
        guard let row = try await db.raw(
            """
            SELECT r.id, r.session_id, r.generation, r.expires_at, r.rotated_at, s.user_id, s.revoked_at,
                   s.expires_at AS session_expires_at, u.status, u.token_version
            FROM refresh_tokens r JOIN login_sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
            WHERE r.token_hash = \(bind: hash)
            """
        ).first() else { return nil }
        return TokenRow(
            id: try row.decode(column: "id", as: String.self),
            sessionId: try row.decode(column: "session_id", as: String.self),
            generation: try row.decode(column: "generation", as: Int64.self),
            expiresAt: try row.decode(column: "expires_at", as: Int64.self),
            rotatedAt: try row.decode(column: "rotated_at", as: Int64?.self),
            userId: try row.decode(column: "user_id", as: String.self),
            sessionRevoked: try !row.decodeNil(column: "revoked_at"),
            sessionExpiresAt: try row.decode(column: "session_expires_at", as: Int64.self),
            userActive: try row.decode(column: "status", as: String.self) == "active",
            tokenVersion: try row.decode(column: "token_version", as: Int64.self)
        )
    }

    static let invalidRefresh = APIError.unauthorized("refresh token is not valid; sign in again", code: "invalid_refresh_token")
    static let sessionEnded = APIError.unauthorized("this session has ended; sign in again", code: "session_ended")
}
