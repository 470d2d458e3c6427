import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The outermost middleware: assigns the request id, turns every error into a response in the path's API shape,
/// stamps `X-Request-Id` on every response, and writes one structured access-log line.
public struct EdgeMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestId = Self.acceptedRequestId(request.headers.firstValue(.requestId)) ?? Identifier.make()
        context.requestId = requestId
        context.logger[metadataKey: "request_id"] = .string(requestId)
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.errorResponse(error, path: request.uri.path, requestId: requestId, logger: context.logger)
        }
        response.headers[.requestId] = requestId
        logAccess(request, status: response.status, elapsed: started.duration(to: .now), context: context)
        return response
    }

    @inline(never)  // keeps the error path's temporaries out of the async frame above
    private static func errorResponse(_ error: any Error, path: String, requestId: String, logger: Logger) -> Response {
        ErrorShape.forPath(path).response(for: apiError(from: error, logger: logger), requestId: requestId, path: path)
    }

    /// Synchronous, so the log line's temporaries stay out of the async frame the connection keeps.
    @inline(never)
    private func logAccess(_ request: Request, status: HTTPResponse.Status, elapsed: Duration, context: Context) {
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "method": .string(request.method.rawValue),
            "path": .string(Self.loggablePath(request.uri.path)),
            "status": .stringConvertible(status.code),
            "duration_ms": .string(String(format: "%.2f", Double(elapsed.wholeMicroseconds) / 1000)),
            "request_id": .string(context.requestId),
        ]
        if let remote = context.remoteAddress { metadata["remote"] = .string(remote) }
        if let key = context.apiKey {
            metadata["org_id"] = .string(key.orgId)
            metadata["key_id"] = .string(key.keyId)
        }
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

    static func apiError(from error: any Error, logger: Logger) -> APIError {
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
        logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error))])
        return .internalError
    }
}

extension Duration {
    var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
