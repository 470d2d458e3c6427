import Core
import SQLKit
import Tenancy

/// Credits going in or corrected by people: grants, top-ups, refunds, adjustments — each idempotent and audited.
public struct CreditAccounts: Sendable {
    private let database: Database
    private let ledger = CreditLedger()
    private let audit = AuditLog()
    /// Told which organisation's balance a posting changed (holds kept in memory read it again).
    private let changed: (@Sendable (String) -> Void)?

    public init(database: Database, changed: (@Sendable (String) -> Void)? = nil) {
        self.database = database
        self.changed = changed
    }

    public func credit(
        orgId: String, kind: Posting.Kind, amount: Credits, reason: String, idempotencyKey: String, actor: Actor, client: ClientInfo? = nil
    ) async throws -> CreditLedger.Posted {
        try Self.validate(kind: kind, amount: amount, reason: reason)
        let posted = try await database.transaction { db in
            try await self.credit(orgId: orgId, kind: kind, amount: amount, reason: reason, idempotencyKey: idempotencyKey, actor: actor, client: client, on: db)
        }
        // Again after the commit: a read between the notice in the transaction and the commit saw the old figure.
        if posted.applied { changed?(orgId) }
        return posted
    }

    /// The same posting inside the caller's transaction on `db` (e.g. redeeming a grant code claims the code and
    /// credits the organisation atomically). The one path by which credits go in: validated, posted, audited.
    public func credit(
        orgId: String, kind: Posting.Kind, amount: Credits, reason: String, idempotencyKey: String, actor: Actor, client: ClientInfo?,
        on db: any SQLDatabase
    ) async throws -> CreditLedger.Posted {
        try Self.validate(kind: kind, amount: amount, reason: reason)
        var posting = Posting(orgId: orgId, kind: kind, amount: amount.micros, idempotencyKey: idempotencyKey, actor: actor, reason: reason)
        if actor.kind == "user" { posting.userId = actor.id }
        let posted = try await ledger.post(posting, on: db)
        if posted.applied {
            changed?(orgId)
            try await audit.append(
                .init(orgId: orgId, actor: actor, action: "billing.\(kind.rawValue)", targetKind: "ledger_entry", targetId: posted.entryId,
                      ip: client?.ip, userAgent: client?.userAgent, details: ["amount": .string(amount.description), "reason": .string(reason)]),
                on: db
            )
        }
        return posted
    }

    private static func validate(kind: Posting.Kind, amount: Credits, reason: String) throws(APIError) {
        guard [.grant, .topUp, .refund, .adjustment].contains(kind) else {
            throw APIError.badRequest("kind must be grant, top_up, refund or adjustment", param: "kind")
        }
        guard amount != .zero, kind == .adjustment || amount > .zero else {
            throw APIError.badRequest("amount must be positive (adjustments may be negative, never zero)", param: "amount")
        }
        try InputRules.validateName(reason, field: "reason")
    }

    public func organizationId(slugOrId: String) async throws -> String {
        guard let row = try await database.first("SELECT id FROM organizations WHERE id = \(bind: slugOrId) OR slug = \(bind: slugOrId)") else {
            throw APIError.notFound("organization '\(slugOrId)' not found", code: "organization_not_found")
        }
        return try row.decode(column: "id", as: String.self)
    }
}
