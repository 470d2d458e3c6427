import HTTPTypes

/// An error meant for the client. Rendered in the error shape of the API the request came in on;
/// `message` must never carry internal details (SQL, stack traces, upstream secrets).
public struct APIError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidRequest = "invalid_request"
        case authentication = "authentication"
        case permission = "permission"
        case notFound = "not_found"
        case conflict = "conflict"
        case payloadTooLarge = "payload_too_large"
        case rateLimited = "rate_limited"
        case insufficientQuota = "insufficient_quota"
        case upstream = "upstream"
        case timeout = "timeout"
        case unavailable = "unavailable"
        case methodNotAllowed = "method_not_allowed"
        case `internal` = "internal"
    }

    public var status: HTTPResponse.Status
    public var kind: Kind
    public var message: String
    /// The request field at fault, when there is one.
    public var param: String?
    /// A stable machine-readable code (e.g. `invalid_api_key`, `model_not_found`).
    public var code: String?
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status,
        _ kind: Kind,
        _ message: String,
        param: String? = nil,
        code: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.kind = kind
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers
    }

    public var description: String { "\(status.code) \(kind.rawValue): \(message)" }

    public static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(.badRequest, .invalidRequest, message, param: param, code: code)
    }

    public static func unauthorized(_ message: String, code: String = "invalid_api_key") -> APIError {
        APIError(.unauthorized, .authentication, message, code: code)
    }

    public static func forbidden(_ message: String, code: String? = nil) -> APIError {
        APIError(.forbidden, .permission, message, code: code)
    }

    public static func notFound(_ message: String, code: String? = nil) -> APIError {
        APIError(.notFound, .notFound, message, code: code)
    }

    public static func conflict(_ message: String, code: String? = nil) -> APIError {
        APIError(.conflict, .conflict, message, code: code)
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, .payloadTooLarge, "request body exceeds the limit of \(limit) bytes", code: "payload_too_large")
    }

    public static let internalError = APIError(
        .internalServerError, .internal, "the server could not complete the request; quote the request id when reporting it",
        code: "internal_error"
    )
}
