import AsyncHTTPClient
import Core
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Shared HTTP clients for upstream calls: `http://` providers through `PlainHTTP1Client`, everything else through
/// AsyncHTTPClient — one client per distinct (connect, read) timeout pair because AsyncHTTPClient sets those per
/// client, with large pools: many long streams to one provider must not queue behind 8 connections.
public final class UpstreamHTTP: Sendable {
    private struct TimeoutKey: Hashable {
        let connectMillis: Int64
        let readMillis: Int64
    }

    private let clients = NIOLockedValueBox<[TimeoutKey: HTTPClient]>([:])
    private let plain = PlainHTTP1Client()
    /// Each URL parsed once (nil: not plain HTTP): providers' URLs repeat on every call, and parsing one cost ~1 %
    /// of a request. Emptied past `maxTargets` URLs, more than a deployment's providers and paths.
    private let targets = NIOLockedValueBox<[String: PlainHTTP1Client.Target?]>([:])
    private static let maxTargets = 4096
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

    /// POSTs `body` to `url` and returns once the response head has arrived (within `firstByteTimeout`).
    /// `wholeUpTo`: the caller will read the whole body, at most this many bytes; a plain-HTTP call then returns
    /// with the body already read (a larger one fails as `responseTooLarge`).
    func post(
        _ url: String, headers: HTTPHeaders, body: ByteBuffer, connectTimeout: Duration, firstByteTimeout: Duration, readTimeout: Duration,
        wholeUpTo: Int? = nil
    ) async throws -> UpstreamResponse {
        if let target = plainTarget(url) {
            let response = try await plain.execute(
                target, method: .POST, headers: headers, body: body, connectTimeout: .init(connectTimeout), firstByteTimeout: .init(firstByteTimeout),
                readTimeout: .init(readTimeout), gatherUpTo: wholeUpTo
            )
            return UpstreamResponse(response)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = OneShotBody.body(body)
        let response = try await client(connectTimeout: connectTimeout, readTimeout: readTimeout).execute(request, timeout: .init(firstByteTimeout))
        return UpstreamResponse(response)
    }

    private func plainTarget(_ url: String) -> PlainHTTP1Client.Target? {
        if let known = targets.withLockedValue({ $0[url] }) { return known }
        let parsed = PlainHTTP1Client.Target(url: url)
        targets.withLockedValue { targets in
            if targets.count >= Self.maxTargets { targets.removeAll() }
            targets[url] = .some(parsed)
        }
        return parsed
    }

    public func shutdown() async {
        await plain.shutdown()
        let all = clients.withLockedValue { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }
}
