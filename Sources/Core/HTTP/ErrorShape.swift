import Foundation
import HTTPTypes
import Hummingbird

/// The error body formats of the APIs we serve. Each ingress answers in its own.
public enum ErrorShape: Sendable {
    case openAI
    case anthropic
    case gemini
    /// RFC 9457 problem+json, for the management API.
    case problem
    case html

    /// Which shape a path's errors take.
    public static func forPath(_ path: String) -> ErrorShape {
        if path == "/v1/messages" || path.hasPrefix("/v1/messages/") { return .anthropic }
        if isGeminiPath(path) { return .gemini }
        if path.hasPrefix("/v1/") || path == "/v1" || path == "/models" { return .openAI }
        if path.hasPrefix("/console") { return .html }
        return .problem
    }

    /// Gemini routes: everything under `/v1beta/`, and `/v1/models/{model}:{method}` (google-genai's default version).
    public static func isGeminiPath(_ path: String) -> Bool {
        path.hasPrefix("/v1beta/") || (path.hasPrefix("/v1/models/") && path.contains(":"))
    }

    public func response(for error: APIError, requestId: String, path: String) -> Response {
        var headers = error.headers
        let body: String
        switch self {
        case .openAI:
            headers[.contentType] = "application/json"
            body = JSONText.object([
                "error": .object([
                    "message": .string(error.message),
                    "type": .string(openAIType(error)),
                    "param": error.param.map { .string($0) } ?? .null,
                    "code": error.code.map { .string($0) } ?? .null,
                ])
            ])
        case .anthropic:
            headers[.contentType] = "application/json"
            body = JSONText.object([
                "type": .string("error"),
                "error": .object(["type": .string(anthropicType(error)), "message": .string(error.message)]),
                "request_id": .string(requestId),
            ])
        case .gemini:
            headers[.contentType] = "application/json"
            body = JSONText.object([
                "error": .object([
                    "code": .int(Int64(error.status.code)),
                    "message": .string(error.message),
                    "status": .string(geminiStatus(error)),
                ])
            ])
        case .problem:
            headers[.contentType] = "application/problem+json"
            var fields: [String: JSONValue] = [
                "type": .string("https://aihigress.dev/problems/\(error.code ?? error.kind.rawValue)"),
                "title": .string(error.status.reasonPhrase),
                "status": .int(Int64(error.status.code)),
                "detail": .string(error.message),
                "instance": .string(path),
                "request_id": .string(requestId),
            ]
            if let param = error.param { fields["param"] = .string(param) }
            body = JSONText.object(fields)
        case .html:
            headers[.contentType] = "text/html; charset=utf-8"
            body = """
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(error.status.code) \
                \(HTMLText.escape(error.status.reasonPhrase))</title></head><body><main><h1>\(error.status.code) \
                \(HTMLText.escape(error.status.reasonPhrase))</h1><p>\(HTMLText.escape(error.message))</p>\
                <p><small>Request id: \(HTMLText.escape(requestId))</small></p></main></body></html>
                """
        }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func openAIType(_ error: APIError) -> String {
        switch error.kind {
        case .invalidRequest, .notFound, .conflict, .payloadTooLarge, .methodNotAllowed: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .rateLimited: "rate_limit_error"
        case .insufficientQuota: "insufficient_quota"
        case .upstream, .timeout, .unavailable: "upstream_error"
        case .internal: "server_error"
        }
    }

    private func anthropicType(_ error: APIError) -> String {
        switch error.kind {
        case .invalidRequest, .conflict, .methodNotAllowed: "invalid_request_error"
        case .insufficientQuota: "billing_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .payloadTooLarge: "request_too_large"
        case .rateLimited: "rate_limit_error"
        case .upstream, .timeout, .internal: "api_error"
        case .unavailable: "overloaded_error"
        }
    }

    private func geminiStatus(_ error: APIError) -> String {
        switch error.kind {
        case .invalidRequest, .payloadTooLarge, .methodNotAllowed: "INVALID_ARGUMENT"
        case .authentication: "UNAUTHENTICATED"
        case .permission: "PERMISSION_DENIED"
        case .notFound: "NOT_FOUND"
        case .conflict: "ALREADY_EXISTS"
        case .rateLimited, .insufficientQuota: "RESOURCE_EXHAUSTED"
        case .timeout: "DEADLINE_EXCEEDED"
        case .upstream, .unavailable: "UNAVAILABLE"
        case .internal: "INTERNAL"
        }
    }
}

/// Escaping for text placed in HTML.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
