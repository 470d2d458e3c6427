import AsyncHTTPClient
import Core
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Which models each provider offers: its static list when configured, otherwise discovered from its models
/// endpoint and cached for `MODELS_CACHE_TTL`. Stale lists are served while a refresh runs in the background.
public final class ModelCatalog: Service, Sendable {
    private struct Entry: Sendable {
        var models: [String]
        var fetchedAt: ContinuousClock.Instant
        var failed: Bool
    }

    private let registry: ProviderRegistry
    private let http: UpstreamHTTP
    private let builder: UpstreamRequestBuilder
    private let ttl: Duration
    private let logger: Logger
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    private let refreshing = NIOLockedValueBox<Set<String>>([])
    /// A failed discovery is retried after this long, not on every request.
    private let failureBackoff: Duration = .seconds(15)

    init(registry: ProviderRegistry, http: UpstreamHTTP, builder: UpstreamRequestBuilder, ttl: Duration, logger: Logger) {
        self.registry = registry
        self.http = http
        self.builder = builder
        self.ttl = ttl
        self.logger = logger
    }

    public func models(of provider: ProviderSettings) async -> [String] {
        if let list = provider.staticModels { return list }
        let now = ContinuousClock.now
        if let entry = entries.withLockedValue({ $0[provider.id] }) {
            let age = entry.fetchedAt.duration(to: now)
            if age >= (entry.failed ? failureBackoff : ttl) { startRefresh(provider) }
            return entry.models
        }
        await refresh(provider)
        return entries.withLockedValue { $0[provider.id]?.models } ?? []
    }

    private func startRefresh(_ provider: ProviderSettings) {
        let start = refreshing.withLockedValue { $0.insert(provider.id).inserted }
        guard start else { return }
        Task {
            await refresh(provider)
            _ = refreshing.withLockedValue { $0.remove(provider.id) }
        }
    }

    func refresh(_ provider: ProviderSettings) async {
        do {
            let models = try await discover(provider)
            entries.withLockedValue { $0[provider.id] = Entry(models: models, fetchedAt: .now, failed: false) }
        } catch {
            logger.warning("model discovery failed", metadata: ["provider": .string(provider.slug), "error": .string("\(error)")])
            entries.withLockedValue { entries in
                let previous = entries[provider.id]?.models ?? []
                entries[provider.id] = Entry(models: previous, fetchedAt: .now, failed: true)
            }
        }
    }

    private func discover(_ provider: ProviderSettings) async throws -> [String] {
        guard let key = provider.keys.first else { return [] }
        let request = modelsRequest(provider, key: key)
        let client = http.client(connectTimeout: provider.connectTimeout, readTimeout: .seconds(15))
        let response = try await client.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 8 * 1024 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw UpstreamFailure.status(Int(response.status.code), UpstreamFailure.message(from: body))
        }
        let json = try JSONText.parse(body.readableBytesView)
        switch provider.kind {
        case .openai, .anthropic:
            return (json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        case .gemini:
            return (json["models"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.map {
                $0.hasPrefix("models/") ? String($0.dropFirst("models/".count)) : $0
            }
        }
    }

    /// `GET models_path` in the provider's protocol (discovery, and health probes without a probe model).
    func modelsRequest(_ provider: ProviderSettings, key: UpstreamKey) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: builder.url(provider, path: provider.modelsPath))
        request.method = .GET
        request.headers = builder.headers(provider, key: key, stream: false)
        return request
    }

    /// Keeps every provider's list warm so requests rarely wait on discovery.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for provider in registry.providers where provider.isUsable && provider.staticModels == nil {
                let age = entries.withLockedValue { $0[provider.id] }.map { $0.fetchedAt.duration(to: .now) }
                if age == nil || age! >= ttl / 2 { await refresh(provider) }
            }
            let pause = min(ttl / 4, .seconds(30))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}
