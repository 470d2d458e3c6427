import AsyncHTTPClient
import Core
import Foundation
import NIOCore
import NIOHTTP1

/// Calls to identity providers: JSON GETs and form POSTs over AsyncHTTPClient, redirects not followed, bounded
/// bodies and timeouts. A failure never carries the provider's body (it may echo secrets or codes).
public struct OAuthHTTP: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The provider's HTTP status, or nil when it could not be reached or answered something unreadable.
        public let status: Int?
        public let what: String

        public var description: String { status.map { "\(what): HTTP \($0)" } ?? "\(what): unreachable or unreadable" }
    }

    /// One client for the process: it is never shut down (a global is never deinitialised).
    static let shared = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(20)))
    )

    static let maxBody = 1024 * 1024
    static let userAgent = "aihigress-oauth"

    public init() {}

    public func getJSON(_ url: String, bearer: String? = nil, what: String) async throws(Failure) -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        return try await send(request, what: what)
    }

    public func postForm(_ url: String, form: [(String, String)], what: String) async throws(Failure) -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: Self.formEncode(form)))
        return try await send(request, what: what)
    }

    private func send(_ request: HTTPClientRequest, what: String) async throws(Failure) -> JSONValue {
        var request = request
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await Self.shared.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: Self.maxBody)
        } catch {
            throw Failure(status: nil, what: what)
        }
        guard (200..<300).contains(status) else { throw Failure(status: status, what: what) }
        guard let value = try? JSONText.parse(bytes.readableBytesView) else { throw Failure(status: nil, what: what) }
        return value
    }

    /// `application/x-www-form-urlencoded` (RFC 1866 / WHATWG): unreserved characters kept, space as `+`.
    public static func formEncode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(formEscape($0.0))=\(formEscape($0.1))" }.joined(separator: "&")
    }

    static func formEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x20: out.append("+")
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
