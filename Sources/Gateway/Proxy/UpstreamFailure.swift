import AsyncHTTPClient
import Core
import NIOCore

/// Why an upstream attempt failed, and what the client is told. Messages carry the upstream status and the
/// provider's own error text (trimmed, with anything key-like removed) but never credentials or internal details.
enum UpstreamFailure: Error, Sendable {
    /// Status, the provider's message, and its `Retry-After` when it sent one.
    case status(Int, String, retryAfter: Duration? = nil)
    case timeout(String)
    case connection(String)
    case malformed(String)

    /// Worth trying the next candidate (before anything reached the client).
    func isRetryable(for provider: ProviderSettings) -> Bool {
        switch self {
        // 401/403 mean our key was refused: the key is taken out of rotation and another may work.
        case .status(let code, _, _): provider.retryableStatusCodes.contains(code) || code == 401 || code == 403
        case .timeout, .connection: true
        case .malformed: false
        }
    }

    /// Counts against the upstream's live reliability figure: it failed us, rather than refusing the client's request.
    func countsAgainst(_ provider: ProviderSettings) -> Bool {
        switch self {
        case .status(let code, _, _): code >= 500 || code == 429 || code == 401 || code == 403 || provider.retryableStatusCodes.contains(code)
        case .timeout, .connection, .malformed: true
        }
    }

    var summary: String {
        switch self {
        case .status(let code, let message, _): "upstream returned \(code)" + (message.isEmpty ? "" : ": \(message)")
        case .timeout(let what): "upstream timed out (\(what))"
        case .connection(let what): "could not reach the upstream (\(what))"
        case .malformed(let what): "upstream sent an unreadable response (\(what))"
        }
    }

    /// The client-facing error after the last attempt. A non-retryable 4xx caused by the request itself goes
    /// back with its status; credential problems on our side and server errors become 502, timeouts 504.
    func clientError(attempts: Int) -> APIError {
        let tried = attempts > 1 ? " (tried \(attempts) providers)" : ""
        switch self {
        case .status(let code, let message, _) where [400, 404, 409, 413, 422].contains(code):
            return APIError(
                HTTPResponse.Status(code: code), code == 413 ? .payloadTooLarge : .invalidRequest,
                "upstream rejected the request (\(code))" + (message.isEmpty ? "" : ": \(message)"), code: "upstream_rejected"
            )
        case .timeout:
            return APIError(.gatewayTimeout, .timeout, summary + tried, code: "upstream_timeout")
        default:
            return APIError(.badGateway, .upstream, summary + tried, code: "upstream_error")
        }
    }

    static func classify(_ error: any Error) -> UpstreamFailure {
        if let failure = error as? UpstreamFailure { return failure }
        if let timeout = error as? TimeoutError { return .timeout(timeout.what) }
        if let plain = error as? PlainHTTP1Error {
            switch plain {
            case .connectTimeout: return .timeout("connect")
            case .firstByteTimeout: return .timeout("first byte")
            case .readTimeout: return .timeout("read")
            case .closedBeforeResponse: return .connection("connection closed before a response")
            case .closedMidResponse: return .connection("connection closed mid-response")
            case .cancelled: return .connection("cancelled")
            case .invalidRequestHeader: return .connection("the provider's headers or key hold characters that cannot be sent")
            case .responseTooLarge: return .malformed("response too large")
            }
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return .timeout("\(client)")
            default: return .connection("\(client)")
            }
        }
        if error is CancellationError { return .connection("cancelled") }
        return .connection(String(describing: type(of: error)))
    }

    /// The provider's error message from a JSON error body (OpenAI, Anthropic and Gemini all use `error.message`),
    /// cut to 300 characters and with anything that looks like a credential removed.
    static func message(from body: ByteBuffer) -> String {
        guard let json = try? JSONText.parse(body.readableBytesView) else { return "" }
        let raw = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? json["message"]?.stringValue ?? ""
        return redact(String(raw.prefix(300)))
    }

    /// `Retry-After` as delta-seconds (the HTTP-date form is rare from APIs and ignored), bounded to a day.
    static func retryAfter(_ value: String?) -> Duration? {
        guard let value, let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds > 0 else { return nil }
        return .seconds(min(seconds, 86_400))
    }

    static func redact(_ text: String) -> String {
        text.split(separator: " ", omittingEmptySubsequences: false).map { word in
            let w = word.trimmingCharacters(in: .punctuationCharacters)
            let looksLikeKey = w.count >= 20 && (w.hasPrefix("sk-") || w.hasPrefix("ahg-") || w.hasPrefix("AIza") || w.hasPrefix("key-"))
            return looksLikeKey ? "[redacted]" : String(word)
        }.joined(separator: " ")
    }
}

import HTTPTypes
import Foundation
