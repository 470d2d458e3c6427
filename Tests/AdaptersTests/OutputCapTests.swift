import Adapters
import Core
import Testing

/// A request forwarded unchanged is not decoded; its credit hold reads the output cap with `maxOutputTokens`. That
/// must be the cap decoding finds, in every ingress format and under every spelling the format accepts.
@Suite struct OutputCapTests {
    static let user: JSONValue = .array([.object(["role": .string("user"), "content": .string("hi")])])

    static let cases: [(String, any IngressCodec, [String: JSONValue], model: String?, expected: Int?)] = [
        ("chat max_tokens", OpenAIChatIngress(), ["model": .string("m"), "messages": user, "max_tokens": .int(70)], nil, 70),
        (
            "chat max_completion_tokens wins", OpenAIChatIngress(),
            ["model": .string("m"), "messages": user, "max_tokens": .int(70), "max_completion_tokens": .int(90)], nil, 90
        ),
        ("chat without a cap", OpenAIChatIngress(), ["model": .string("m"), "messages": user], nil, nil),
        ("responses", ResponsesIngress(), ["model": .string("m"), "input": .string("hi"), "max_output_tokens": .int(55)], nil, 55),
        ("anthropic", AnthropicIngress(), ["model": .string("m"), "messages": user, "max_tokens": .int(33)], nil, 33),
        (
            "gemini camelCase", GeminiIngress(),
            ["contents": .array([.object(["role": .string("user"), "parts": .array([.object(["text": .string("hi")])])])]),
             "generationConfig": .object(["maxOutputTokens": .int(44)])], "m", 44
        ),
        (
            "gemini snake_case", GeminiIngress(),
            ["contents": .array([.object(["role": .string("user"), "parts": .array([.object(["text": .string("hi")])])])]),
             "generation_config": .object(["max_output_tokens": .int(45)])], "m", 45
        ),
        (
            "gemini without a config", GeminiIngress(),
            ["contents": .array([.object(["role": .string("user"), "parts": .array([.object(["text": .string("hi")])])])])], "m", nil
        ),
    ]

    @Test func theCapReadAloneIsTheCapDecodingFinds() throws {
        for (name, codec, body, model, expected) in Self.cases {
            let decoded = try codec.decodeRequest(body, model: model, stream: nil)
            #expect(decoded.maxOutputTokens == expected, "\(name): decoded")
            #expect(try codec.maxOutputTokens(JSONObjectBytes(object: body)) == expected, "\(name): read alone")
        }
    }

    @Test func aCapOfTheWrongTypeIsRefusedNamingTheField() throws {
        let body = try JSONObjectBytes(object: ["model": .string("m"), "messages": Self.user, "max_tokens": .string("many")])
        #expect(throws: APIError.self) { try OpenAIChatIngress().maxOutputTokens(body) }
        do {
            _ = try OpenAIChatIngress().maxOutputTokens(body)
        } catch {
            #expect(error.message.contains("max_tokens"))
        }
    }
}
