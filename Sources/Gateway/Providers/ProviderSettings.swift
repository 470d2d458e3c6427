import Core

/// Everything the gateway needs to call one provider. Built from the database (secrets decrypted) or the environment.
/// Immutable and shared by reference: candidates, prepared calls and routing state pass one pointer around instead
/// of copying (and retaining) some twenty fields, which keeps the request path's async frames small (PERFORMANCE.md).
public final class ProviderSettings: Sendable {
    public let id: String
    /// Used in `slug/model` ids and in logs.
    public let slug: String
    public let name: String
    public let kind: ProviderKind
    public let baseURL: String
    /// nil: public, usable by every organisation.
    public let ownerOrgId: String?
    public let status: String
    public let approval: String
    public let weight: Double
    public let region: String?
    public let modelsPath: String
    /// When set, the model list is this and discovery is skipped.
    public let staticModels: [String]?
    public let maxQPS: Int?
    public let retryableStatusCodes: Set<Int>
    public let extraHeaders: [String: String]
    /// Header carrying the key: `authorization` (sent as `Bearer …`) or a raw header such as `api-key` (Azure).
    public let authHeader: String
    public let chatPath: String
    /// nil: no native Responses API; `/v1/responses` is translated to chat.
    public let responsesPath: String?
    public let messagesPath: String
    public let embeddingsPath: String
    public let imagesPath: String
    public let connectTimeout: Duration
    public let firstByteTimeout: Duration
    public let readTimeout: Duration
    public let keys: [UpstreamKey]
    /// Multiplies this provider's prices, in basis points (10000 = 1.0; `LLM_PROVIDER_{id}_BILLING_FACTOR`).
    public let billingFactorBasisPoints: Int
    /// Names clients may use for this provider's models (`LLM_PROVIDER_{id}_MODEL_ALIASES`): alias → model id.
    public let modelAliases: [String: String]

    public init(
        id: String,
        slug: String,
        name: String,
        kind: ProviderKind,
        baseURL: String,
        ownerOrgId: String?,
        status: String,
        approval: String,
        weight: Double,
        region: String?,
        modelsPath: String,
        staticModels: [String]?,
        maxQPS: Int?,
        retryableStatusCodes: Set<Int>,
        extraHeaders: [String: String],
        authHeader: String,
        chatPath: String,
        responsesPath: String?,
        messagesPath: String,
        embeddingsPath: String,
        imagesPath: String,
        connectTimeout: Duration,
        firstByteTimeout: Duration,
        readTimeout: Duration,
        keys: [UpstreamKey],
        billingFactorBasisPoints: Int = 10_000,
        modelAliases: [String: String] = [:]
    ) {
        self.id = id
        self.slug = slug
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.ownerOrgId = ownerOrgId
        self.status = status
        self.approval = approval
        self.weight = weight
        self.region = region
        self.modelsPath = modelsPath
        self.staticModels = staticModels
        self.maxQPS = maxQPS
        self.retryableStatusCodes = retryableStatusCodes
        self.extraHeaders = extraHeaders
        self.authHeader = authHeader
        self.chatPath = chatPath
        self.responsesPath = responsesPath
        self.messagesPath = messagesPath
        self.embeddingsPath = embeddingsPath
        self.imagesPath = imagesPath
        self.connectTimeout = connectTimeout
        self.firstByteTimeout = firstByteTimeout
        self.readTimeout = readTimeout
        self.keys = keys
        self.billingFactorBasisPoints = billingFactorBasisPoints
        self.modelAliases = modelAliases
    }

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
