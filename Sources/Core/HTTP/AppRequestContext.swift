import Hummingbird
import NIOCore

/// Who is calling with an API key: established by the API-key middleware, read by every `/v1` handler.
public struct APIKeyIdentity: Sendable, Equatable {
    public let keyId: String
    public let orgId: String
    public let name: String
    /// Models this key may use; nil means every model the organisation may use.
    public let allowedModels: [String]?
    /// Provider slugs this key may use; nil means every provider the organisation may use.
    public let allowedProviders: [String]?
    /// The key's own limits (the organisation's are looked up separately).
    public let limits: UsageLimits?
    public let expiresAt: Int64?

    public init(
        keyId: String, orgId: String, name: String, allowedModels: [String]?, allowedProviders: [String]? = nil, limits: UsageLimits? = nil,
        expiresAt: Int64?
    ) {
        self.keyId = keyId
        self.orgId = orgId
        self.name = name
        self.allowedModels = allowedModels
        self.allowedProviders = allowedProviders
        self.limits = limits
        self.expiresAt = expiresAt
    }

    /// Whether the key may send requests to the provider with this slug.
    public func mayUse(providerSlug: String) -> Bool {
        allowedProviders.map { $0.contains(providerSlug) } ?? true
    }
}

/// Per-request state shared by middleware and handlers.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestId: String = ""
    public var apiKey: APIKeyIdentity?
    /// The client's address; its text is made only when something reads it (the access log, audit records), not
    /// for every proxied request.
    private let remoteSocketAddress: SocketAddress?
    public var remoteAddress: String? { remoteSocketAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteSocketAddress = source.channel.remoteAddress
    }

    /// Bodies are read explicitly with the configured limit (`Request.collectLimited`), not through this.
    public var maxUploadSize: Int { 64 * 1024 }
}
