import Core

/// A client-facing API format (what SDKs send us).
public protocol IngressCodec: Sendable {
    /// Reads the client's request. `model` and `stream` come from the URL for Gemini; others read the body.
    /// Throws 400 `APIError`s whose message names the offending field.
    func decodeRequest(_ body: [String: JSONValue], model: String?, stream: Bool?) throws(APIError) -> ChatRequest
    /// The output cap the request sets (`ChatRequest.maxOutputTokens`), read without decoding the rest: a request
    /// forwarded unchanged needs only this from its body for the credit hold.
    func maxOutputTokens(_ body: JSONObjectBytes) throws(APIError) -> Int?
    /// The complete answer in this format.
    func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue
    func makeStreamEncoder(for request: ChatRequest) -> any StreamEncoder
}

/// An upstream provider's protocol (what we send providers).
public protocol ProviderCodec: Sendable {
    /// The request body for the provider; `upstreamModel` replaces the client's model name.
    func encodeRequest(_ request: ChatRequest, upstreamModel: String) -> JSONValue
    /// Reads the provider's complete answer; `model` is what to report to the client.
    func decodeResponse(_ body: JSONValue, model: String) throws(UpstreamStreamError) -> ChatResponse
    /// The usage a complete answer reports, read from the top-level members that carry it and nothing else (all a
    /// forwarded answer needs); nil when it reports none or is an error, so the charge is estimated rather than nil.
    func reportedUsage(_ member: (String) -> JSONValue?) -> Usage?
    func makeStreamDecoder(model: String) -> any StreamDecoder
}
