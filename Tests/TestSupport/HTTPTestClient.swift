import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A plain HTTP client for talking to a server under test.
public struct HTTPTestClient: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: String

        public func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw TestSetupError("body is not a JSON object: \(body)")
            }
            return object
        }

        /// `error.code`, `error.message` etc. in the OpenAI shape.
        public func openAIError() throws -> [String: Any] {
            guard let error = try json()["error"] as? [String: Any] else { throw TestSetupError("no error object in \(body)") }
            return error
        }
    }

    public static let shared = HTTPTestClient()
    /// Hands 3xx answers back as they are instead of following them (redirect-based flows such as OAuth).
    public static let withoutRedirects = HTTPTestClient(client: noRedirectClient)
    /// Never shut down: a global is never deinitialised.
    private static let noRedirectClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow)
    )
    private let client: HTTPClient

    private init(client: HTTPClient = .shared) {
        self.client = client
    }

    public func send(
        _ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .init(timeout))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
