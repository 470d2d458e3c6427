import AsyncHTTPClient
import Core
import NIOConcurrencyHelpers
import NIOCore

/// Shared HTTP clients for upstream calls, one per distinct (connect, read) timeout pair because AsyncHTTPClient
/// sets those per client. Pools are large: many long streams to one provider must not queue behind 8 connections.
public final class UpstreamHTTP: Sendable {
    private struct TimeoutKey: Hashable {
        let connectMillis: Int64
        let readMillis: Int64
    }

    private let clients = NIOLockedValueBox<[TimeoutKey: HTTPClient]>([:])
    private let connectionsPerHost: Int

    public init(connectionsPerHost: Int = 2048) {
        self.connectionsPerHost = connectionsPerHost
    }

    func client(connectTimeout: Duration, readTimeout: Duration) -> HTTPClient {
        let key = TimeoutKey(connectMillis: connectTimeout.wholeMilliseconds, readMillis: readTimeout.wholeMilliseconds)
        let connectionsPerHost = self.connectionsPerHost
        return clients.withLockedValue { clients in
            if let existing = clients[key] { return existing }
            var configuration = HTTPClient.Configuration()
            configuration.timeout = .init(connect: .milliseconds(key.connectMillis), read: .milliseconds(key.readMillis))
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
            configuration.decompression = .enabled(limit: .ratio(50))
            configuration.redirectConfiguration = .disallow
            // No tracer is bootstrapped; a span per call from the default no-op tracer still cost ~2% of a request.
            configuration.tracing.tracer = nil
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    public func shutdown() async {
        let all = clients.withLockedValue { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }
}
