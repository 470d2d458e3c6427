import Core
import Hummingbird
import SQLKit
import Tenancy

/// `/orgs/{org}/billing/…`, `/system/orgs/{org}/credits` and `/pricing`.
public struct BillingRoutes: Sendable {
    private let billing: BillingService

    public init(billing: BillingService) {
        self.billing = billing
    }

    public func register(on api: ManagementRouter) {
        let tag = "billing"
        api.add(.get, "/orgs/{org}/billing/balance", access: .org(.billingView), tag: tag, summary: "Balance, held and available credits") { call in
            let org = try call.organization().org
            await billing.holds.settled()  // every response already sent is in the figures
            let balance = try await billing.holds.balance(orgId: org.id)
            return JSONResponse.object([
                "org_id": .string(org.id),
                "balance": .string(Credits(micros: balance.balance).description),
                "held": .string(Credits(micros: balance.held).description),
                "available": .string(Credits(micros: balance.available).description),
                "balance_micros": .int(balance.balance), "held_micros": .int(balance.held), "available_micros": .int(balance.available),
                "display_currency": .string(billing.settings.displayCurrency),
                "mode": .string(billing.settings.mode.rawValue),
            ])
        }
        api.add(.get, "/orgs/{org}/billing/ledger", access: .org(.billingView), tag: tag,
                summary: "Ledger entries, newest first (filters: kind, request_id, from, to)") { call in
            let org = try call.organization().org
            let query = try LedgerQuery(call, orgId: org.id)
            await billing.holds.settled()
            let page = try await billing.database.withConnection { db in try await query.run(on: db) }
            return JSONResponse.page(page.items, nextCursor: page.next)
        }
        api.add(.post, "/system/orgs/{org}/credits", access: .system, tag: "system",
                summary: "Grant or adjust an organisation's credits (audited, idempotent)", body: Self.creditSchema, status: .created) { call in
            var call = call
            let body = try await call.body()
            let orgId = try await billing.accounts.organizationId(slugOrId: try call.parameter("org"))
            let kind = try Posting.Kind(rawValue: body.string("kind") ?? "grant").flatMap { [.grant, .adjustment, .refund, .topUp].contains($0) ? $0 : nil }
            guard let kind else { throw APIError.badRequest("kind must be grant, adjustment, refund or top_up", param: "kind") }
            guard let amount = Credits(parsing: try body.requiredString("amount")) else {
                throw APIError.badRequest("amount must be a decimal number of credits such as 25 or 0.5", param: "amount")
            }
            let key = try body.string("idempotency_key") ?? "api:\(call.requestId)"
            let posted = try await billing.accounts.credit(
                orgId: orgId, kind: kind, amount: amount, reason: try body.requiredString("reason"), idempotencyKey: key,
                actor: call.actor, client: call.client
            )
            return JSONResponse.object([
                "entry_id": .string(posted.entryId), "applied": .bool(posted.applied),
                "balance": .string(Credits(micros: posted.balance.balance).description),
            ], status: posted.applied ? .created : .ok)
        }
        api.add(.get, "/orgs/{org}/billing/limits", access: .org(.billingView), tag: tag,
                summary: "The organisation's rate limits and monthly budget") { call in
            let org = try call.organization().org
            return JSONResponse.make(try await billing.quotas.organizationLimits(orgId: org.id)?.json ?? .object([:]))
        }
        api.add(.put, "/orgs/{org}/billing/limits", access: .org(.billingManage), tag: tag,
                summary: "Set the organisation's rate limits and monthly budget (an empty object removes them)", body: Self.limitsSchema) { call in
            var call = call
            let limits = try UsageLimits(try await call.body())
            let org = try call.organization().org
            try await billing.quotas.setOrganizationLimits(orgId: org.id, limits, actor: call.actor, client: call.client)
            return JSONResponse.make(limits.json)
        }
        api.add(.get, "/pricing", access: .system, tag: "pricing", summary: "Price overrides and the shipped price list") { _ in
            JSONResponse.make(billing.prices.listing())
        }
        api.add(.put, "/pricing", access: .system, tag: "pricing", summary: "Set or remove a price override (per model, optionally per provider)",
                body: Self.priceSchema) { call in
            var call = call
            let body = try await call.body()
            let (model, price) = try Self.readPrice(body)
            let providerId = try body.string("provider_id") ?? ""
            let actor = call.actor
            let client = call.client
            try await billing.database.transaction { db in
                try await billing.prices.store(model: model, providerId: providerId, orgId: "", price: price, actor: actor, on: db)
                try await AuditLog().append(
                    .init(orgId: nil, actor: actor, action: price == nil ? "pricing.removed" : "pricing.set", targetKind: "model", targetId: model,
                          ip: client.ip, userAgent: client.userAgent, details: ["provider_id": .string(providerId)]),
                    on: db
                )
            }
            try await billing.pricesChanged()
            return JSONResponse.make(billing.prices.listing())
        }
        api.add(.put, "/orgs/{org}/pricing", access: .org(.billingManage), tag: "pricing",
                summary: "Set or remove the price of a model on one of the organisation's private providers", body: Self.priceSchema) { call in
            var call = call
            let body = try await call.body()
            let org = try call.organization().org
            let (model, price) = try Self.readPrice(body)
            let providerId = try body.requiredString("provider_id")
            let actor = call.actor
            let client = call.client
            try await billing.database.transaction { db in
                guard try await db.raw("SELECT id FROM providers WHERE id = \(bind: providerId) AND owner_org_id = \(bind: org.id)").first() != nil else {
                    throw APIError.notFound("provider '\(providerId)' not found among this organization's providers", code: "provider_not_found")
                }
                try await billing.prices.store(model: model, providerId: providerId, orgId: org.id, price: price, actor: actor, on: db)
                try await AuditLog().append(
                    .init(orgId: org.id, actor: actor, action: price == nil ? "pricing.removed" : "pricing.set", targetKind: "model", targetId: model,
                          ip: client.ip, userAgent: client.userAgent, details: ["provider_id": .string(providerId)]),
                    on: db
                )
            }
            try await billing.pricesChanged()
            return JSONResponse.noContent
        }
    }

    /// `{model, input_per_million, output_per_million, …}` or `{model, remove: true}`.
    static func readPrice(_ body: Fields) throws -> (String, Price?) {
        let model = try body.requiredString("model")
        guard !model.isEmpty, model.count <= 200 else { throw APIError.badRequest("model must be 1-200 characters", param: "model") }
        if try body.bool("remove") == true { return (model, nil) }
        func amount(_ field: String, required: Bool) throws -> Int64? {
            guard let text = try body.string(field) else {
                if required { _ = try body.required(field) }
                return nil
            }
            guard let credits = Credits(parsing: text), credits >= .zero else {
                throw APIError.badRequest("\(field) must be a non-negative decimal number of credits, as a string", param: field)
            }
            return credits.micros
        }
        let price = Price(
            inputPerMillion: try amount("input_per_million", required: true) ?? 0,
            outputPerMillion: try amount("output_per_million", required: true) ?? 0,
            cachedInputPerMillion: try amount("cached_input_per_million", required: false),
            reasoningPerMillion: try amount("reasoning_per_million", required: false),
            perImage: try amount("per_image", required: false) ?? 0, perRequest: try amount("per_request", required: false) ?? 0,
            source: "override"
        )
        return (model, price)
    }

    static let limitsSchema = Schemas.object([
        "requests_per_minute": Schemas.integer, "tokens_per_minute": Schemas.integer, "concurrent_requests": Schemas.integer,
        "monthly_budget": Schemas.string, "budget_enforcement": Schemas.string,
    ])
    static let creditSchema = Schemas.object(required: ["amount", "reason"], [
        "amount": Schemas.string, "reason": Schemas.string, "kind": Schemas.string, "idempotency_key": Schemas.string,
    ])
    static let priceSchema = Schemas.object(required: ["model"], [
        "model": Schemas.string, "provider_id": Schemas.string, "input_per_million": Schemas.string, "output_per_million": Schemas.string,
        "cached_input_per_million": Schemas.string, "reasoning_per_million": Schemas.string, "per_image": Schemas.string,
        "per_request": Schemas.string, "remove": Schemas.boolean,
    ])
}
