import Core

/// Everything the gateway needs to call one provider. Built from the database (secrets decrypted) or the environment.
public struct ProviderSettings: Sendable, Equatable {
    public var id: String
    /// Used in `slug/model` ids and in logs.
    public var slug: String
    public var name: String
    public var kind: ProviderKind
    public var baseURL: String
    /// nil: public, usable by every organisation.
    public var ownerOrgId: String?
    public var status: String
    public var approval: String
    public var weight: Double
    public var region: String?
    public var modelsPath: String
    /// When set, the model list is this and discovery is skipped.
    public var staticModels: [String]?
    public var maxQPS: Int?
    public var retryableStatusCodes: Set<Int>
    public var extraHeaders: [String: String]
    /// Header carrying the key: `authorization` (sent as `Bearer …`) or a raw header such as `api-key` (Azure).
    public var authHeader: String
    public var chatPath: String
    /// nil: no native Responses API; `/v1/responses` is translated to chat.
    public var responsesPath: String?
    public var messagesPath: String
    public var embeddingsPath: String
    public var imagesPath: String
    public var connectTimeout: Duration
    public var firstByteTimeout: Duration
    public var readTimeout: Duration
    public var keys: [UpstreamKey]
    /// Multiplies this provider's prices, in basis points (10000 = 1.0; `LLM_PROVIDER_{id}_BILLING_FACTOR`).
    public var billingFactorBasisPoints: Int = 10_000
    /// Names clients may use for this provider's models (`LLM_PROVIDER_{id}_MODEL_ALIASES`): alias → model id.
    public var modelAliases: [String: String] = [:]

    public static let defaultRetryable: Set<Int> = [429, 500, 502, 503, 504]

    /// Usable now: active and approved (routing adds cooldowns and health in a later stage).
    public var isUsable: Bool { status == "active" && approval == "approved" && !keys.isEmpty }

    public func isVisible(to orgId: String) -> Bool { ownerOrgId == nil || ownerOrgId == orgId }

    /// The model to send for a requested name: the name itself when the provider offers it, else its alias target.
    public func upstreamModel(for requested: String, offered: [String]) -> String? {
        offered.contains(requested) ? requested : modelAliases[requested]
    }
}

public struct UpstreamKey: Sendable, Equatable {
    public var id: String
    public var label: String
    public var secret: String
    public var weight: Double
    public var maxQPS: Int?

    public init(id: String, label: String, secret: String, weight: Double = 1, maxQPS: Int? = nil) {
        self.id = id
        self.label = label
        self.secret = secret
        self.weight = weight
        self.maxQPS = maxQPS
    }
}
