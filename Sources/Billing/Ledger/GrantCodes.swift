import Core
import SQLKit
import Tenancy

/// Grant codes: single-use, expiring codes that system administrators issue and organisations redeem for credits.
/// A code is `ahc-` followed by 24 random base62 characters (about 143 bits); only its HMAC-SHA-256
/// (`KeyRing` purpose `tokenHash`) is stored, plus the first characters for display. Redeeming claims the row
/// with one conditional `UPDATE … RETURNING` and credits the organisation in the same transaction, so a code
/// pays out at most once however many redeem it at the same time.
public struct GrantCodes: Sendable {
    public struct Issued: Sendable {
        public let id: String
        /// The code itself: shown in the issuing response only.
        public let code: String
        public let prefix: String
        public let amount: Credits
        public let expiresAt: Int64
    }

    public struct Redeemed: Sendable {
        public let grantCodeId: String
        public let amount: Credits
        public let posted: CreditLedger.Posted
    }

    public static let scheme = "ahc-"
    static let secretLength = 24
    static let prefixLength = scheme.count + 4

    /// One answer for unknown, used, expired and revoked codes, so a caller cannot tell them apart.
    public static let notRedeemable = APIError.notFound("grant code not found, already used, expired or revoked", code: "grant_code_not_found")

    private let database: Database
    private let keyRing: KeyRing
    private let accounts: CreditAccounts
    private let audit = AuditLog()

    public init(database: Database, keyRing: KeyRing, accounts: CreditAccounts? = nil) {
        self.database = database
        self.keyRing = keyRing
        self.accounts = accounts ?? CreditAccounts(database: database)
    }

    func hash(_ code: String) -> String {
        keyRing.hash(code, purpose: .tokenHash)
    }

    /// Issues a code worth `amount`, valid for `lifetimeSeconds`. Audited without the code.
    public func issue(
        amount: Credits, lifetimeSeconds: Int64, note: String?, createdBy: String?, actor: Actor, client: ClientInfo?
    ) async throws -> Issued {
        guard amount > .zero else { throw APIError.badRequest("amount must be a positive number of credits", param: "amount") }
        guard lifetimeSeconds > 0 else { throw APIError.badRequest("expires_in must be positive", param: "expires_in") }
        if let note { try InputRules.validateName(note, field: "note") }
        let code = Self.scheme + RandomToken.base62(length: Self.secretLength)
        let now = EpochMillis.now()
        let issued = Issued(
            id: Identifier.make(), code: code, prefix: String(code.prefix(Self.prefixLength)), amount: amount, expiresAt: now + lifetimeSeconds * 1000
        )
        let (codeHash, audit) = (hash(code), self.audit)
        try await database.transaction { db in
            try await db.raw(
                """
                INSERT INTO grant_codes (id, code_hash, code_prefix, amount, expires_at, created_by, created_at, note)
                VALUES (\(bind: issued.id), \(bind: codeHash), \(bind: issued.prefix), \(bind: amount.micros), \(bind: issued.expiresAt),
                        \(bind: createdBy), \(bind: now), \(bind: note))
                """
            ).run()
            var details: [String: JSONValue] = [
                "amount": .string(amount.description), "expires_at": .int(issued.expiresAt), "code_prefix": .string(issued.prefix),
            ]
            if let note { details["note"] = .string(note) }
            try await audit.append(
                .init(orgId: nil, actor: actor, action: "grant_code.created", targetKind: "grant_code", targetId: issued.id,
                      ip: client?.ip, userAgent: client?.userAgent, details: details),
                on: db
            )
        }
        return issued
    }

    /// Every code, newest first; never the codes themselves or their hashes.
    public func list(page: PageRequest) async throws -> (items: [JSONValue], next: String?) {
        let rows = try await database.query(
            """
            SELECT g.id, g.code_prefix, g.amount, g.expires_at, g.created_by, u.email AS created_by_email, g.created_at, g.redeemed_at,
                   g.redeemed_by_org, o.slug AS redeemed_by_org_slug, g.redeemed_by_user, g.revoked_at, g.note
            FROM grant_codes g LEFT JOIN users u ON u.id = g.created_by LEFT JOIN organizations o ON o.id = g.redeemed_by_org
            WHERE g.id < \(bind: page.cursor ?? "~") ORDER BY g.id DESC LIMIT \(bind: page.limit + 1)
            """
        )
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        let now = EpochMillis.now()
        return (try cut.items.map { try Self.json($0, now: now) }, cut.next)
    }

    static func json(_ row: any SQLRow, now: Int64) throws -> JSONValue {
        func text(_ column: String) throws -> JSONValue { (try row.decode(column: column, as: String?.self)).map(JSONValue.string) ?? .null }
        func number(_ column: String) throws -> JSONValue { (try row.decode(column: column, as: Int64?.self)).map(JSONValue.int) ?? .null }
        let amount = try row.decode(column: "amount", as: Int64.self)
        let expiresAt = try row.decode(column: "expires_at", as: Int64.self)
        let redeemed = try !row.decodeNil(column: "redeemed_at")
        let revoked = try !row.decodeNil(column: "revoked_at")
        let status = redeemed ? "redeemed" : revoked ? "revoked" : expiresAt <= now ? "expired" : "active"
        return .object([
            "id": try text("id"), "code_prefix": try text("code_prefix"), "status": .string(status),
            "amount": .string(Credits(micros: amount).description), "amount_micros": .int(amount),
            "expires_at": .int(expiresAt), "created_by": try text("created_by"), "created_by_email": try text("created_by_email"),
            "created_at": try number("created_at"), "redeemed_at": try number("redeemed_at"),
            "redeemed_by_org": try text("redeemed_by_org"), "redeemed_by_org_slug": try text("redeemed_by_org_slug"),
            "redeemed_by_user": try text("redeemed_by_user"), "revoked_at": try number("revoked_at"), "note": try text("note"),
        ])
    }

    /// Revokes an unredeemed code by id. Revoking a revoked code changes nothing; a redeemed one cannot be revoked (409).
    public func revoke(id: String, actor: Actor, client: ClientInfo?) async throws {
        let audit = self.audit
        try await database.transaction { db in
            guard let row = try await db.raw("SELECT redeemed_at, revoked_at FROM grant_codes WHERE id = \(bind: id)").first() else {
                throw APIError.notFound("grant code '\(id)' not found", code: "grant_code_not_found")
            }
            guard try row.decodeNil(column: "redeemed_at") else {
                throw APIError.conflict("grant code '\(id)' has already been redeemed", code: "grant_code_redeemed")
            }
            guard try row.decodeNil(column: "revoked_at") else { return }
            // The condition repeats the check so a redemption that commits first wins cleanly.
            let revoked = try await db.raw(
                """
                UPDATE grant_codes SET revoked_at = \(bind: EpochMillis.now())
                WHERE id = \(bind: id) AND redeemed_at IS NULL AND revoked_at IS NULL RETURNING id
                """
            ).first()
            guard revoked != nil else { throw APIError.conflict("grant code '\(id)' has already been redeemed", code: "grant_code_redeemed") }
            try await audit.append(
                .init(orgId: nil, actor: actor, action: "grant_code.revoked", targetKind: "grant_code", targetId: id, ip: client?.ip, userAgent: client?.userAgent),
                on: db
            )
        }
    }

    /// Claims the code for the organisation and credits it (kind `grant`, idempotency key `grant-code:<id>`) in one
    /// transaction. Unknown, used, expired and revoked codes all answer `notRedeemable`.
    public func redeem(code: String, orgId: String, userId: String?, actor: Actor, client: ClientInfo?) async throws -> Redeemed {
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix(Self.scheme), trimmed.utf8.count == Self.scheme.utf8.count + Self.secretLength else { throw Self.notRedeemable }
        let (codeHash, accounts, audit) = (hash(trimmed), self.accounts, self.audit)
        return try await database.transaction { db in
            let now = EpochMillis.now()
            guard let claimed = try await db.raw(
                """
                UPDATE grant_codes SET redeemed_at = \(bind: now), redeemed_by_org = \(bind: orgId), redeemed_by_user = \(bind: userId)
                WHERE code_hash = \(bind: codeHash) AND redeemed_at IS NULL AND revoked_at IS NULL AND expires_at > \(bind: now)
                RETURNING id, code_prefix, amount
                """
            ).first() else { throw Self.notRedeemable }
            let id = try claimed.decode(column: "id", as: String.self)
            let prefix = try claimed.decode(column: "code_prefix", as: String.self)
            let amount = Credits(micros: try claimed.decode(column: "amount", as: Int64.self))
            let posted = try await accounts.credit(
                orgId: orgId, kind: .grant, amount: amount, reason: "grant code \(prefix)…", idempotencyKey: "grant-code:\(id)",
                actor: actor, client: client, on: db
            )
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "grant_code.redeemed", targetKind: "grant_code", targetId: id,
                      ip: client?.ip, userAgent: client?.userAgent,
                      details: ["amount": .string(amount.description), "ledger_entry_id": .string(posted.entryId)]),
                on: db
            )
            return Redeemed(grantCodeId: id, amount: amount, posted: posted)
        }
    }
}
