import Core
import Tenancy

/// One ledger entry to write. `amount` moves the balance; charges are negative. (Holds are not ledger entries:
/// `credit_holds` keeps the open ones, and the account's `held` is their sum.)
public struct Posting: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `hold` entries exist only from before holds left the ledger; `release` now marks an expired hold.
        case charge, hold, release, topUp = "top_up", grant, refund, adjustment
    }

    public var orgId: String
    public var kind: Kind
    public var amount: Int64
    /// Unique per organisation: posting the same key twice changes nothing the second time.
    public var idempotencyKey: String
    public var actor: Actor
    public var reason: String?
    public var requestId: String?
    public var providerId: String?
    public var model: String?
    public var apiKeyId: String?
    public var userId: String?
    public var usage: MeteredUsage?

    public init(orgId: String, kind: Kind, amount: Int64, idempotencyKey: String, actor: Actor, reason: String? = nil) {
        self.orgId = orgId
        self.kind = kind
        self.amount = amount
        self.idempotencyKey = idempotencyKey
        self.actor = actor
        self.reason = reason
    }
}

/// Tokens (and images) a request used, as billed. `estimated` marks counts the gateway had to estimate because
/// the stream ended before the provider reported usage.
public struct MeteredUsage: Sendable, Equatable {
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cachedInputTokens: Int64
    public var reasoningTokens: Int64
    public var images: Int64
    public var estimated: Bool

    public init(inputTokens: Int64 = 0, outputTokens: Int64 = 0, cachedInputTokens: Int64 = 0, reasoningTokens: Int64 = 0, images: Int64 = 0, estimated: Bool = false) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.reasoningTokens = reasoningTokens
        self.images = images
        self.estimated = estimated
    }
}
