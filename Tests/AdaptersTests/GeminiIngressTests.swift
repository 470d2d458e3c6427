import Core
import Testing
@testable import Adapters

@Suite struct GeminiIngressTests {
    let codec = GeminiIngress()

    // MARK: Golden files

    /// Each input is `{"model": <from the URL>, "stream": <from the URL>, "body": {...}}`.
    @Test(arguments: ["plain-text", "system-and-config", "snake-case", "images", "function-calls", "json-response"])
    func decodesRequest(_ name: String) throws {
        let input = try GoldenFile.json("gemini/ingress-request/\(name).input.json")
        let body = try #require(input["body"]?.objectValue)
        let request = try codec.decodeRequest(body, model: input["model"]?.stringValue, stream: input["stream"]?.boolValue)
        try GoldenFile.expectJSON(CanonicalJSONFixture.json(request), matches: "gemini/ingress-request/\(name).expected.json")
    }

    @Test(arguments: ["text-with-thoughts-and-cache", "function-calls", "max-tokens", "content-filter", "other-reason"])
    func encodesResponse(_ name: String) throws {
        let response = try CanonicalJSONFixture.response(try GoldenFile.json("gemini/ingress-response/\(name).input.json"))
        let body = codec.encodeResponse(response, for: ChatRequest(model: response.model))
        try GoldenFile.expectJSON(body, matches: "gemini/ingress-response/\(name).expected.json")
    }

    @Test(arguments: ["text", "function-calls", "error"])
    func encodesStream(_ name: String) throws {
        let input = try GoldenFile.json("gemini/ingress-stream/\(name).input.json")
        let frames = try CanonicalJSONFixture.encodeStream(codec.makeStreamEncoder(for: ChatRequest(model: "gemini-test")), input: input)
        try GoldenFile.expectSSE(frames, matches: "gemini/ingress-stream/\(name).expected.sse")
    }

    // MARK: Mappings

    @Test(arguments: [
        ("{\"mode\":\"AUTO\"}", ToolChoice.auto), ("{\"mode\":\"ANY\"}", .required), ("{\"mode\":\"NONE\"}", ToolChoice.none),
        ("{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"lookup\"]}", .named("lookup")),
        ("{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"a\",\"b\"]}", .required), ("{\"mode\":\"VALIDATED\"}", .auto),
    ])
    func mapsFunctionCallingMode(_ config: String, _ expected: ToolChoice) throws {
        let request = try decode("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"toolConfig\":{\"functionCallingConfig\":\(config)}}")
        #expect(request.toolChoice == expected)
    }

    @Test func jsonMimeTypeWithoutSchemaAsksForAJSONObject() throws {
        let request = try decode("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"responseMimeType\":\"application/json\"}}")
        #expect(request.responseFormat == .jsonObject)
        let plain = try decode("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"responseMimeType\":\"text/plain\"}}")
        #expect(plain.responseFormat == nil)
    }

    @Test(arguments: [
        (FinishReason.stop, "STOP"), (.toolCalls, "STOP"), (.length, "MAX_TOKENS"), (.contentFilter, "SAFETY"), (.other("pause"), "OTHER"),
    ])
    func mapsFinishReason(_ reason: FinishReason, _ expected: String) {
        let response = ChatResponse(id: "r", model: "m", created: 0, output: [], finishReason: reason, usage: Usage())
        let candidate = codec.encodeResponse(response, for: ChatRequest(model: "m"))["candidates"]?.arrayValue?.first
        #expect(candidate?["finishReason"] == .string(expected))
    }

    // MARK: Errors

    @Test(arguments: [
        ("{}", "contents", "missing_field"),
        ("{\"contents\":[]}", "contents", "invalid_value"),
        ("{\"contents\":{\"parts\":[]}}", "contents", "invalid_type"),
        ("{\"contents\":[{\"role\":\"system\",\"parts\":[{\"text\":\"hi\"}]}]}", "contents[0].role", "invalid_value"),
        ("{\"contents\":[{\"role\":\"user\"}]}", "contents[0].parts", "missing_field"),
        ("{\"contents\":[{\"role\":\"user\",\"parts\":\"hi\"}]}", "contents[0].parts", "invalid_type"),
        ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":1}]}]}", "contents[0].parts[0].text", "invalid_type"),
        ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"executableCode\":{}}]}]}", "contents[0].parts[0]", "invalid_value"),
        ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inlineData\":{\"data\":\"AAAA\"}}]}]}", "contents[0].parts[0].inlineData.mimeType", "missing_field"),
        ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inline_data\":\"AAAA\"}]}]}", "contents[0].parts[0].inline_data", "invalid_type"),
        ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]}]}", "contents[0].parts[0]", "invalid_value"),
        ("{\"contents\":[{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"args\":{}}}]}]}", "contents[0].parts[0].functionCall.name", "missing_field"),
        ("{\"contents\":[{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":\"{}\"}}]}]}", "contents[0].parts[0].functionCall.args", "invalid_type"),
        ("{\"contents\":[{\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":[1]}}]}]}", "contents[0].parts[0].functionResponse.response", "invalid_type"),
        ("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"maxOutputTokens\":\"many\"}}", "generationConfig.maxOutputTokens", "invalid_type"),
        ("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"SOMETIMES\"}}}", "toolConfig.functionCallingConfig.mode", "invalid_value"),
        ("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"tools\":[{\"functionDeclarations\":[{\"description\":\"x\"}]}]}", "tools[0].functionDeclarations[0].name", "missing_field"),
        ("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"systemInstruction\":\"be brief\"}", "systemInstruction", "invalid_type"),
    ])
    func rejectsWithTheFieldNamed(_ body: String, _ param: String, _ code: String) throws {
        do {
            _ = try decode(body)
            Issue.record("expected a 400 naming \(param)")
        } catch {
            #expect(error.status.code == 400)
            #expect(error.param == param, "\(error.message)")
            #expect(error.code == code, "\(error.message)")
            #expect(error.message.contains(param))
        }
    }

    @Test func requiresTheModelFromThePath() throws {
        do {
            _ = try codec.decodeRequest(["contents": .array([])], model: nil, stream: nil)
            Issue.record("expected a 400")
        } catch {
            #expect(error.param == "model")
        }
    }

    private func decode(_ text: String) throws(APIError) -> ChatRequest {
        guard case .object(let body) = try JSONText.parse(Array(text.utf8)) else { throw .badRequest("not an object") }
        return try codec.decodeRequest(body, model: "gemini-2.5-flash", stream: false)
    }
}
