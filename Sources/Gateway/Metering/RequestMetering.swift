import Adapters
import Billing
import Core
import Logging

/// Prices, holds and settles proxied requests. `open` runs before anything goes upstream: it refuses unpriced
/// models and (in enforce mode) holds the most the request can cost; `close` charges what was used, exactly once,
/// whatever way the request ended, and releases the hold.
struct RequestMetering: Sendable {
    let billing: BillingService
    let logger: Logger

    /// One metered request. `billingId` is ours (never the client's `X-Request-Id`, which a client could reuse).
    struct Ticket: Sendable {
        let billingId: String
        let requestId: String
        let orgId: String
        let keyId: String
        let promptEstimate: Int64
        /// The price of each candidate that has one, in candidate order (a handful: searched, not hashed).
        let prices: [CandidatePrice]
        let held: Bool
        /// Rate-limit standing: headers for the response, slots to free when the request ends.
        let admission: QuotaService.Admission
    }

    struct CandidatePrice: Sendable {
        let providerId: String
        let model: String
        let price: Price

        func isFor(_ candidate: Candidate) -> Bool {
            providerId == candidate.provider.id && model == candidate.upstreamModel
        }
    }

    /// How a request ended, as far as billing is concerned.
    enum Ending: Sendable {
        /// Nothing was produced (every attempt failed before a response): no charge.
        case nothingProduced
        /// A response or stream, complete or not. `usage` when the provider reported it; otherwise the output is
        /// estimated from `outputCharacters`.
        case produced(usage: Usage?, outputCharacters: Int, images: Int, outcome: String)
    }

    func open(
        requestId: String, identity: APIKeyIdentity, candidates: [Candidate], bodyBytes: Int, maxOutputTokens: Int?, images: Int = 0
    ) async throws -> Ticket {
        var prices: [CandidatePrice] = []
        prices.reserveCapacity(candidates.count)
        for candidate in candidates {
            if let price = candidate.price(in: billing.prices, orgId: identity.orgId) {
                prices.append(CandidatePrice(providerId: candidate.provider.id, model: candidate.upstreamModel, price: price))
            }
        }
        guard !prices.isEmpty else {
            throw APIError.forbidden(
                "model '\(candidates.first?.upstreamModel ?? "")' has no price configured, so it cannot be billed; ask the operator to set one (PUT /pricing)",
                code: "model_not_priced"
            )
        }
        // Roughly 3 bytes per token bounds the prompt from above for typical text.
        let promptEstimate = Int64(max(1, bodyBytes / 3))
        let admission = try await billing.quotas.admit(identity)
        let ticket = Ticket(
            billingId: Identifier.make(), requestId: requestId, orgId: identity.orgId, keyId: identity.keyId,
            promptEstimate: promptEstimate, prices: prices, held: billing.settings.mode == .enforce, admission: admission
        )
        do {
            try await hold(ticket, identity: identity, maxOutputTokens: maxOutputTokens, images: images)
        } catch {
            await billing.quotas.release(admission, tokens: 0, cost: 0)
            throw error
        }
        return ticket
    }

    private func hold(_ ticket: Ticket, identity: APIKeyIdentity, maxOutputTokens: Int?, images: Int) async throws {
        let (prices, promptEstimate) = (ticket.prices, ticket.promptEstimate)
        if ticket.held {
            let worstCase = MeteredUsage(
                inputTokens: promptEstimate, outputTokens: Int64(maxOutputTokens ?? billing.settings.defaultOutputCap), images: Int64(images)
            )
            let amount = prices.lazy.map { $0.price.cost(of: worstCase) }.max() ?? 0
            try await billing.holds.place(
                orgId: identity.orgId, requestId: ticket.billingId, clientRequestId: ticket.requestId, apiKeyId: identity.keyId, amount: amount,
                lifetime: billing.settings.holdLifetime, enforce: true
            )
        }
    }

    /// Settles the request. Never throws and does not wait for the ledger: the rate-limit standing is updated
    /// now (usage and cost are known), and the charge joins the next ledger transaction, so the response does not
    /// wait for its commit. Billing reads wait for queued settlements (`CreditHolds.settled`); shutdown drains
    /// them. A failed settlement is logged, and the hold's expiry plus the idempotent charge key keep the ledger
    /// right when it is retried.
    func close(_ ticket: Ticket, candidate: Candidate?, ending: Ending) async {
        var settlement = CreditHolds.Settlement(cost: 0, usage: nil, providerId: candidate?.provider.id, model: candidate?.upstreamModel, apiKeyId: ticket.keyId, reason: "nothing produced")
        if case .produced(let usage, let characters, let images, let outcome) = ending, let candidate, let price = ticket.prices.first(where: { $0.isFor(candidate) })?.price {
            let metered = usage.map {
                MeteredUsage(inputTokens: Int64($0.inputTokens), outputTokens: Int64($0.outputTokens), cachedInputTokens: Int64($0.cachedInputTokens),
                             reasoningTokens: Int64($0.reasoningTokens), images: Int64(images))
            } ?? MeteredUsage(
                inputTokens: ticket.promptEstimate * 3 / 4, outputTokens: Int64((characters + 3) / 4), images: Int64(images), estimated: true
            )
            settlement.usage = metered
            settlement.cost = price.cost(of: metered)
            settlement.reason = outcome
        }
        // The rate-limit standing first: once the charge is queued, the response is on its way.
        let tokens = (settlement.usage?.inputTokens ?? 0) + (settlement.usage?.outputTokens ?? 0)
        await billing.quotas.release(ticket.admission, tokens: tokens, cost: settlement.cost)
        if ticket.held || settlement.cost > 0 {
            let (billing, logger, cost) = (billing, logger, settlement.cost)
            billing.holds.settleLater(orgId: ticket.orgId, requestId: ticket.billingId, clientRequestId: ticket.requestId, settlement) { outcome in
                switch outcome {
                case .success:
                    // Auto top-up is evaluated in the background, never on the client's response path.
                    if cost > 0 { billing.payments.autoTopUp.noteCharge(orgId: ticket.orgId) }
                case .failure(let error):
                    logger.error("settlement failed; the hold will expire and the charge can be replayed", metadata: [
                        "request_id": .string(ticket.requestId), "billing_id": .string(ticket.billingId), "error": "\(error)",
                    ])
                }
            }
        }
    }
}
