import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// Every client format against every provider kind, streaming and not, with text, images, tool calls and tool
/// results. The fakes answer deterministically from what they received in their own protocol, so a correct
/// answer proves the translation both ways.
@Suite struct GatewayMatrixTests {
    static let kinds: [FakeProvider.Kind] = [.openai, .anthropic, .gemini]

    @Test(arguments: Ingress.allCases) func everyIngressReachesEveryProviderKind(_ ingress: Ingress) async throws {
        try await GatewayHarness.withRunning { h in
            for kind in Self.kinds {
                let model = GatewayHarness.models[kind]!
                for stream in [false, true] {
                    let label = "\(ingress) → \(kind) stream=\(stream)"
                    // Plain text with a system prompt.
                    let text = try await send(h, ingress, model: model, prompt: "Say hi", stream: stream)
                    #expect(text.error == nil, "\(label): \(text.error ?? "")")
                    #expect(text.text == "Echo: Say hi [system: Be brief.]", "\(label): \(text.text)")
                    #expect(text.completed, "\(label): stream not completed")
                    // An image travels in the provider's own image format.
                    let image = try await send(h, ingress, model: model, prompt: "Describe", stream: stream, image: true)
                    #expect(image.text.hasPrefix("Echo: Describe [images: 1]"), "\(label): \(image.text)")
                    // Tool definitions reach the provider; its tool call comes back in the client's format.
                    let call = try await send(h, ingress, model: model, prompt: "What's the weather in Paris?", stream: stream, tools: true)
                    #expect(call.toolName == "get_weather", "\(label): no tool call in \(call)")
                    let arguments = try JSONText.parse(Array(call.toolArguments.utf8))
                    #expect(arguments["city"] == .string("Paris"), "\(label): arguments \(call.toolArguments)")
                    // The tool's result reaches the provider as its own tool-result form.
                    let answer = try await send(h, ingress, model: model, prompt: "What's the weather in Paris?", stream: stream, tools: true, toolResult: "22C and sunny")
                    // Gemini tool results are JSON objects: other providers get that object as the result text.
                    let result = ingress == .gemini && kind != .gemini ? #"{"result":"22C and sunny"}"# : "22C and sunny"
                    #expect(answer.text == "Tool said: \(result)", "\(label): \(answer.text)")
                }
            }
            // The upstream saw each request in its own protocol with its own auth.
            #expect(h.openai.completions.allSatisfy { $0.path.hasPrefix("/v1/chat/completions") || $0.path.hasPrefix("/v1/responses") })
            #expect(h.anthropic.completions.allSatisfy { $0.path == "/v1/messages" && $0.headers["x-api-key"] == "sk-ant-fake" })
            #expect(h.gemini.completions.allSatisfy { $0.path.hasPrefix("/v1beta/models/gemini-fake:") && $0.headers["x-goog-api-key"] == "gemini-fake-key" })
            // Images arrived in each provider's own representation.
            let anthropicImage = h.anthropic.completions.compactMap(\.body).first { JSONText.render($0).contains("\"media_type\":\"image/png\"") }
            #expect(anthropicImage != nil, "Anthropic must receive base64 image blocks")
            let geminiImage = h.gemini.completions.compactMap(\.body).first { JSONText.render($0).contains("\"inlineData\"") }
            #expect(geminiImage != nil, "Gemini must receive inlineData parts")
            // Usage is recorded, normalised, for every request.
            let expected = Self.kinds.count * 2 * 4
            let usage = try await h.usageLines(atLeast: expected)
            #expect(usage.count == expected)
            for line in usage {
                #expect(line["input_tokens"] as? String == "\(FakeUsage.input)", "\(line)")
                #expect(line["output_tokens"] as? String == "\(FakeUsage.output)", "\(line)")
                #expect(line["cached_input_tokens"] as? String == "\(FakeUsage.cached)", "\(line)")
                #expect(line["outcome"] as? String == "completed", "\(line)")
            }
        }
    }

    func send(
        _ h: GatewayHarness, _ ingress: Ingress, model: String, prompt: String, stream: Bool, tools: Bool = false, image: Bool = false,
        toolResult: String? = nil
    ) async throws -> Ingress.Turn {
        let (path, body) = ingress.request(model: model, prompt: prompt, stream: stream, tools: tools, image: image, toolResult: toolResult)
        let reply = try await http.send(.POST, h.base + path, headers: h.auth, body: JSONText.render(body))
        guard reply.status == 200 else {
            Issue.record("\(ingress) \(model) stream=\(stream): HTTP \(reply.status) \(reply.body)")
            return Ingress.Turn()
        }
        if stream { #expect(reply.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true) }
        return try ingress.read(reply.body, stream: stream)
    }
}
