import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The outermost middleware: assigns the request id, turns every error into a response in the path's API shape,
/// stamps `X-Request-Id` on every response, and writes one structured access-log line. The server's direct lane
/// for the gateway's hottest routes, which builds neither Hummingbird's `Request` nor a context, goes through the
/// same steps (`respond(to:path:channel:_:)`).
public struct EdgeMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        await guarded(request.head, path: request.uri.path, remote: context.remoteAddress) { requestId in
            var context = context
            context.requestId = requestId
            return try await next(request, context)
        }
    }

    /// The same steps for a request answered without Hummingbird's `Request` and context: `route` gets the request id.
    public func respond(
        to head: HTTPRequest, path: String, channel: any Channel, _ route: (_ requestId: String) async throws -> Response
    ) async -> Response {
        await guarded(head, path: path, remote: channel.remoteAddress?.ipAddress, route)
    }

    /// The edge's steps around `route`, for both ways in. The path and the remote address are made only when an
    /// error or a log line needs them.
    private func guarded(
        _ head: HTTPRequest, path: @autoclosure () -> String, remote: @autoclosure () -> String?, _ route: (_ requestId: String) async throws -> Response
    ) async -> Response {
        let started = ContinuousClock.now
        let requestId = Self.requestId(head.headerFields)
        var response: Response
        do {
            response = try await route(requestId)
        } catch {
            response = errorResponse(error, path: path(), requestId: requestId)
        }
        finish(&response, method: head.method, path: path(), requestId: requestId, started: started, remote: remote())
        return response
    }

    /// The client's id when it is acceptable, else a new one. It is not set on the request's logger: nothing on the
    /// request path logs through it, and setting it copied the logger's storage on every request (session 17).
    static func requestId(_ headers: HTTPFields) -> String {
        acceptedRequestId(headers.firstValue(.requestId)) ?? Identifier.make()
    }

    @inline(never)  // keeps the error path's temporaries out of the async frame above
    private func errorResponse(_ error: any Error, path: String, requestId: String) -> Response {
        ErrorShape.forPath(path).response(for: Self.apiError(from: error, logger: logger, requestId: requestId), requestId: requestId, path: path)
    }

    /// Stamps the request id and writes the access line. Synchronous, so the log line's temporaries stay out of the
    /// async frame the connection keeps; the path and the remote address are made only for a line written.
    @inline(never)
    private func finish(
        _ response: inout Response, method: HTTPRequest.Method, path: @autoclosure () -> String, requestId: String, started: ContinuousClock.Instant,
        remote: @autoclosure () -> String?
    ) {
        response.headers[.requestId] = requestId
        guard logger.logLevel <= .info else { return }
        let elapsed = started.duration(to: .now)
        var metadata: Logger.Metadata = [
            "method": .string(method.rawValue),
            "path": .string(Self.loggablePath(path())),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(String(format: "%.2f", Double(elapsed.wholeMicroseconds) / 1000)),
            "request_id": .string(requestId),
        ]
        if let remote = remote() { metadata["remote"] = .string(remote) }
        logger.info("access", metadata: metadata)
    }

    /// A client-supplied id is kept when it is short and plain, so traces can be joined across systems.
    static func acceptedRequestId(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
        else { return nil }
        return value
    }

    /// Paths that carry a secret (invitation tokens) are logged with the secret replaced.
    static func loggablePath(_ path: String) -> String {
        guard path.hasPrefix("/invitations/") else { return path }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 2 { parts[2] = "[redacted]" }
        return parts.joined(separator: "/")
    }

    static func apiError(from error: any Error, logger: Logger, requestId: String) -> APIError {
        switch error {
        case let apiError as APIError:
            return apiError
        case let httpError as HTTPError:
            switch httpError.status {
            case .notFound: return .notFound("no such endpoint", code: "unknown_endpoint")
            case .methodNotAllowed: return APIError(.methodNotAllowed, .methodNotAllowed, "method not allowed on this endpoint")
            case .contentTooLarge: return APIError(.contentTooLarge, .payloadTooLarge, "request body is too large")
            default:
                if httpError.status.code < 500 {
                    return APIError(httpError.status, .invalidRequest, httpError.body ?? httpError.status.reasonPhrase)
                }
            }
        case is DecodingError:
            return .badRequest("request body does not match the expected shape")
        case is CancellationError:
            // The client closed its connection mid-request (which cancels the request's task): no one reads this
            // answer, and the access log shows nginx's 499 rather than an error of ours.
            return APIError(
                HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"), .invalidRequest, "the client closed the connection",
                code: "client_closed_request"
            )
        default:
            break
        }
        logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error)), "request_id": .string(requestId)])
        return .internalError
    }
}

extension Duration {
    var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
