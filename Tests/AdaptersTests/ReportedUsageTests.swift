import Adapters
import Core
import Testing

/// A forwarded answer is charged from `reportedUsage`, read without decoding the answer: it must be the usage
/// decoding finds, and nil (so the charge is estimated) when the answer reports none or is an error.
@Suite struct ReportedUsageTests {
    static let answers: [(String, any ProviderCodec, JSONValue)] = [
        ("openai", OpenAIChatProvider(), .object([
            "id": .string("c1"), "choices": .array([.object(["index": .int(0), "message": .object(["role": .string("assistant"), "content": .string("hi")]),
                                                               "finish_reason": .string("stop")])]),
            "usage": .object(["prompt_tokens": .int(11), "completion_tokens": .int(7), "prompt_tokens_details": .object(["cached_tokens": .int(3)])]),
        ])),
        ("anthropic", AnthropicProvider(), .object([
            "id": .string("m1"), "type": .string("message"), "content": .array([.object(["type": .string("text"), "text": .string("hi")])]),
            "stop_reason": .string("end_turn"), "usage": .object(["input_tokens": .int(8), "cache_read_input_tokens": .int(3), "output_tokens": .int(7)]),
        ])),
        ("gemini", GeminiProvider(), .object([
            "candidates": .array([.object(["content": .object(["parts": .array([.object(["text": .string("hi")])])]), "finishReason": .string("STOP")])]),
            "usageMetadata": .object(["promptTokenCount": .int(11), "candidatesTokenCount": .int(5), "thoughtsTokenCount": .int(2),
                                      "cachedContentTokenCount": .int(3)]),
        ])),
    ]

    @Test func theUsageReportedIsTheUsageDecodingFinds() throws {
        for (name, codec, answer) in Self.answers {
            let decoded = try codec.decodeResponse(answer, model: "m")
            let reported = codec.reportedUsage { answer[$0] }
            #expect(reported == decoded.usage, "\(name)")
            #expect(reported?.inputTokens == 11 && reported?.outputTokens == 7 && reported?.cachedInputTokens == 3, "\(name)")
        }
    }

    @Test func noUsageOrAnErrorReportsNothing() {
        for (name, codec, answer) in Self.answers {
            var withoutUsage = answer.objectValue ?? [:]
            withoutUsage["usage"] = nil
            withoutUsage["usageMetadata"] = nil
            #expect(codec.reportedUsage { withoutUsage[$0] } == nil, "\(name): no usage member")
            var failed = answer.objectValue ?? [:]
            failed["error"] = .object(["message": .string("overloaded"), "type": .string("overloaded_error")])
            if name == "anthropic" { failed["type"] = .string("error") }
            #expect(codec.reportedUsage { failed[$0] } == nil, "\(name): an error answer")
        }
    }
}
