import Core
import SQLKit
import Tenancy

/// `GET …/billing/ledger`: filters and cursor pagination over the organisation's entries.
struct LedgerQuery: Sendable {
    let orgId: String
    let page: PageRequest
    let kind: String?
    let requestId: String?
    let from: Int64?
    let to: Int64?

    init(_ call: ManagementCall, orgId: String) throws {
        self.orgId = orgId
        self.page = try PageRequest(call)
        self.kind = call.query("kind")
        if let kind, Posting.Kind(rawValue: kind) == nil {
            throw APIError.badRequest("kind must be one of \(Posting.Kind.allCases.map(\.rawValue).joined(separator: ", "))", param: "kind")
        }
        self.requestId = call.query("request_id")
        func millis(_ name: String) throws -> Int64? {
            guard let text = call.query(name) else { return nil }
            guard let value = Int64(text), value >= 0 else { throw APIError.badRequest("\(name) must be epoch milliseconds", param: name) }
            return value
        }
        self.from = try millis("from")
        self.to = try millis("to")
    }

    func run(on db: any SQLDatabase) async throws -> (items: [JSONValue], next: String?) {
        var sql = SQLQueryString(
            """
            SELECT id, kind, amount, hold_amount, balance_after, idempotency_key, actor_kind, actor_id, reason, request_id, provider_id,
                   model, api_key_id, user_id, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, estimated, created_at
            FROM ledger_entries WHERE org_id = \(bind: orgId) AND id < \(bind: page.cursor ?? "~")
            """
        )
        if let kind { sql.appendInterpolation(unsafeRaw: " AND kind = "); sql.appendInterpolation(bind: kind) }
        if let requestId { sql.appendInterpolation(unsafeRaw: " AND request_id = "); sql.appendInterpolation(bind: requestId) }
        if let from { sql.appendInterpolation(unsafeRaw: " AND created_at >= "); sql.appendInterpolation(bind: from) }
        if let to { sql.appendInterpolation(unsafeRaw: " AND created_at < "); sql.appendInterpolation(bind: to) }
        sql.appendInterpolation(unsafeRaw: " ORDER BY id DESC LIMIT ")
        sql.appendInterpolation(bind: page.limit + 1)
        let rows = try await db.raw(sql).all()
        let cut = page.cut(rows) { (try? $0.decode(column: "id", as: String.self)) ?? "" }
        return (try cut.items.map(Self.entry), cut.next)
    }

    static func entry(_ row: any SQLRow) throws -> JSONValue {
        func text(_ column: String) throws -> JSONValue { (try row.decode(column: column, as: String?.self)).map(JSONValue.string) ?? .null }
        func number(_ column: String) throws -> JSONValue { (try row.decode(column: column, as: Int64?.self)).map(JSONValue.int) ?? .null }
        let amount = try row.decode(column: "amount", as: Int64.self)
        return .object([
            "id": try text("id"), "kind": try text("kind"),
            "amount": .string(Credits(micros: amount).description), "amount_micros": .int(amount),
            "hold_micros": .int(try row.decode(column: "hold_amount", as: Int64.self)),
            "balance_after_micros": .int(try row.decode(column: "balance_after", as: Int64.self)),
            "idempotency_key": try text("idempotency_key"),
            "actor": .object(["kind": try text("actor_kind"), "id": try text("actor_id")]),
            "reason": try text("reason"), "request_id": try text("request_id"), "provider_id": try text("provider_id"),
            "model": try text("model"), "api_key_id": try text("api_key_id"), "user_id": try text("user_id"),
            "usage": .object([
                "input_tokens": try number("input_tokens"), "output_tokens": try number("output_tokens"),
                "cached_input_tokens": try number("cached_input_tokens"), "reasoning_tokens": try number("reasoning_tokens"),
                "estimated": .bool(try row.decode(column: "estimated", as: Bool.self)),
            ]),
            "created_at": try number("created_at"),
        ])
    }
}
