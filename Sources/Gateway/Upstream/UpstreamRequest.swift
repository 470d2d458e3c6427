import AsyncHTTPClient
import Core
import NIOCore
import NIOHTTP1

/// Builds the URL and headers of one upstream call. Nothing a client sends reaches the URL or path: those come
/// from the provider's settings (plus the model name for Gemini, percent-encoded).
struct UpstreamRequestBuilder: Sendable {
    let browserHeaders: [String: String]

    func url(_ provider: ProviderSettings, path: String) -> String {
        var base = provider.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        // Accept base URLs written with or without the version segment (`https://api.openai.com/v1`).
        for version in ["/v1", "/v1beta"] where base.hasSuffix(version) && path.hasPrefix(version + "/") {
            base.removeLast(version.count)
        }
        return base + path
    }

    /// The Gemini path for `model`: `/v1beta/models/{model}:generateContent` or the SSE stream variant.
    static func geminiPath(model: String, stream: Bool) -> String {
        let encoded = model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/", "?", "#", ":"])) ?? model
        return stream ? "/v1beta/models/\(encoded):streamGenerateContent?alt=sse" : "/v1beta/models/\(encoded):generateContent"
    }

    /// Headers for a call: content type, auth in the provider kind's style, protocol headers, browser-like
    /// headers when configured, then the provider's own extra headers (which win).
    func headers(
        _ provider: ProviderSettings, key: UpstreamKey, stream: Bool, passthrough: [(String, String)] = []
    ) -> HTTPHeaders {
        var headers = HTTPHeaders()
        // Room for everything below and the `host` and `content-length` the client adds: one allocation.
        headers.reserveCapacity(6 + passthrough.count + browserHeaders.count + provider.extraHeaders.count)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        if provider.authHeader == "authorization" {
            headers.add(name: "authorization", value: "Bearer \(key.secret)")
        } else {
            headers.add(name: provider.authHeader, value: key.secret)
        }
        if provider.kind == .anthropic { headers.replaceOrAdd(name: "anthropic-version", value: "2023-06-01") }
        for (name, value) in passthrough { headers.replaceOrAdd(name: name, value: value) }
        for (name, value) in browserHeaders { headers.replaceOrAdd(name: name, value: value) }
        for (name, value) in provider.extraHeaders { headers.replaceOrAdd(name: name, value: value) }
        return headers
    }
}

import Foundation
