import Core
import Hummingbird
import Tenancy

/// `/system/grant-codes` (issue, list, revoke) and `POST /orgs/{org}/billing/redeem`.
public struct GrantCodeRoutes: Sendable {
    private let codes: GrantCodes

    public init(billing: BillingService, keyRing: KeyRing) {
        self.codes = GrantCodes(database: billing.database, keyRing: keyRing, accounts: billing.accounts)
    }

    public func register(on api: ManagementRouter) {
        api.add(.post, "/system/grant-codes", access: .system, tag: "system",
                summary: "Issue a single-use, expiring grant code; the code is shown once", body: Self.issueSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            guard let amount = Credits(parsing: try body.requiredString("amount")), amount > .zero else {
                throw APIError.badRequest("amount must be a positive decimal number of credits such as 25 or 0.5, as a string", param: "amount")
            }
            let lifetime = try InputRules.duration(try body.requiredString("expires_in"), field: "expires_in")
            let issued = try await codes.issue(
                amount: amount, lifetimeSeconds: lifetime, note: try body.string("note"), createdBy: try call.user().userId,
                actor: call.actor, client: call.client
            )
            return JSONResponse.object([
                "id": .string(issued.id), "code": .string(issued.code), "code_prefix": .string(issued.prefix),
                "amount": .string(issued.amount.description), "amount_micros": .int(issued.amount.micros), "expires_at": .int(issued.expiresAt),
            ], status: .created)
        }
        api.add(.get, "/system/grant-codes", access: .system, tag: "system",
                summary: "Grant codes, newest first, with status (prefixes only, never codes)") { call in
            let page = try await codes.list(page: try PageRequest(call))
            return JSONResponse.page(page.items, nextCursor: page.next)
        }
        api.add(.delete, "/system/grant-codes/{code}", access: .system, tag: "system",
                summary: "Revoke an unredeemed grant code by id", status: .noContent) { call in
            try await codes.revoke(id: try call.parameter("code"), actor: call.actor, client: call.client)
            return JSONResponse.noContent
        }
        api.add(.post, "/orgs/{org}/billing/redeem", access: .org(.billingManage), tag: "billing",
                summary: "Redeem a grant code for credits (single use; unknown, used, expired and revoked codes all answer 404)",
                body: Self.redeemSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            let code = try body.requiredString("code")
            let org = try call.organization().org
            let redeemed = try await codes.redeem(code: code, orgId: org.id, userId: try call.user().userId, actor: call.actor, client: call.client)
            return JSONResponse.object([
                "grant_code_id": .string(redeemed.grantCodeId), "entry_id": .string(redeemed.posted.entryId),
                "amount": .string(redeemed.amount.description), "amount_micros": .int(redeemed.amount.micros),
                "balance": .string(Credits(micros: redeemed.posted.balance.balance).description),
                "balance_micros": .int(redeemed.posted.balance.balance),
            ], status: .created)
        }
    }

    static let issueSchema = Schemas.object(required: ["amount", "expires_in"], [
        "amount": Schemas.string, "expires_in": Schemas.string, "note": Schemas.string,
    ])
    static let redeemSchema = Schemas.object(required: ["code"], ["code": Schemas.string])
}
