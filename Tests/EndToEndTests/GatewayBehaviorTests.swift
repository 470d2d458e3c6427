import Core
import Foundation
import NIOHTTP1
import Testing
import TestSupport

@Suite struct GatewayBehaviorTests {
    private func post(_ h: GatewayHarness, _ path: String, _ body: JSONValue, headers: [(String, String)] = []) async throws -> HTTPTestClient.Reply {
        try await http.send(.POST, h.base + path, headers: h.auth + headers, body: JSONText.render(body))
    }

    @Test func modelListAggregatesProvidersAndRespectsKeyLimits() async throws {
        try await GatewayHarness.withRunning { h in
            let reply = try await http.send(.GET, h.base + "/v1/models", headers: h.auth)
            #expect(reply.status == 200)
            let ids = try #require(try reply.json()["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            for id in ["gpt-fake", "claude-fake", "gemini-fake", "oa/gpt-fake", "an/claude-fake", "ge/gemini-fake"] {
                #expect(ids.contains(id), "\(id) missing from \(ids)")
            }
            #expect(h.openai.received.contains { $0.method == "GET" && $0.path == "/v1/models" && $0.headers["authorization"]?.hasPrefix("Bearer sk-fake-openai") == true })
            #expect(h.gemini.received.contains { $0.method == "GET" && $0.path == "/v1beta/models" })
            #expect(!h.anthropic.received.contains { $0.method == "GET" }, "a static model list skips discovery")

            let limited = try await h.deployment.cli(["keys", "create", "--org", "acme", "--name", "limited", "--models", "claude-fake"])
            let key = try #require(try limited.json()["key"] as? String)
            let auth = [("Authorization", "Bearer \(key)")]
            let list = try await http.send(.GET, h.base + "/v1/models", headers: auth)
            let limitedIds = try #require(try list.json()["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            #expect(Set(limitedIds) == ["claude-fake", "an/claude-fake"])
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "hi", stream: false)
            let refused = try await http.send(.POST, h.base + path, headers: auth, body: JSONText.render(body))
            #expect(refused.status == 403)
            #expect(try refused.openAIError()["code"] as? String == "model_not_allowed")
        }
    }

    @Test func explicitProviderPrefixAndUnknownModelsInEachShape() async throws {
        try await GatewayHarness.withRunning { h in
            let (path, body) = Ingress.chat.request(model: "an/claude-fake", prompt: "pinned", stream: false)
            let pinned = try await post(h, path, body)
            #expect(pinned.status == 200)
            #expect(h.anthropic.completions.last?.body?["model"] == .string("claude-fake"))

            let missing = try await post(h, path, Ingress.chat.request(model: "nope-model", prompt: "x", stream: false).1)
            #expect(missing.status == 404)
            #expect((try missing.openAIError()["message"] as? String)?.contains("/v1/models") == true)
            let anthropicMissing = try await post(h, "/v1/messages", Ingress.messages.request(model: "nope-model", prompt: "x", stream: false).1)
            #expect(anthropicMissing.status == 404)
            #expect(try anthropicMissing.json()["type"] as? String == "error")
            #expect((try anthropicMissing.json()["error"] as? [String: Any])?["type"] as? String == "not_found_error")
            let (gpath, gbody) = Ingress.gemini.request(model: "nope-model", prompt: "x", stream: false)
            let geminiMissing = try await post(h, gpath, gbody)
            #expect(geminiMissing.status == 404)
            #expect((try geminiMissing.json()["error"] as? [String: Any])?["status"] as? String == "NOT_FOUND")
            let badAction = try await post(h, "/v1beta/models/gemini-fake:countTokens", gbody)
            #expect(badAction.status == 404)
        }
    }

    @Test func upstreamErrorsMapToClearClientErrors() async throws {
        // The breaker would open after three failures; this test is about how each failure is reported.
        try await GatewayHarness.withRunning(extra: ["LLM_PROVIDER_oa_FIRST_BYTE_TIMEOUT": "3", "AIHIGRESS_BREAKER_FAILURES": "20"]) { h in
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "x", stream: false)
            // Warm up (model discovery, upstream connection) so the timeout below measures only the slow answer.
            #expect(try await post(h, path, body).status == 200)
            h.openai.setBehavior(.fail(status: 400))
            let rejected = try await post(h, path, body)
            #expect(rejected.status == 400)
            #expect((try rejected.openAIError()["message"] as? String)?.contains("fake failure 400") == true)
            h.openai.setBehavior(.fail(status: 500))
            let broken = try await post(h, path, body)
            #expect(broken.status == 502)
            #expect((try broken.openAIError()["message"] as? String)?.contains("500") == true)
            h.openai.setBehavior(.delayHead(.seconds(8)))
            let slow = try await post(h, path, body)
            #expect(slow.status == 504)
            // The same failures on the Anthropic ingress come back in Anthropic's shape.
            h.openai.setBehavior(.fail(status: 503))
            let (mpath, mbody) = Ingress.messages.request(model: "gpt-fake", prompt: "x", stream: true)
            let anthropicShape = try await post(h, mpath, mbody)
            #expect(anthropicShape.status == 502)
            #expect((try anthropicShape.json()["error"] as? [String: Any])?["type"] as? String == "api_error")
            // Last, because a refused key is taken out of rotation (see ResilienceTests).
            h.openai.setBehavior(.fail(status: 401))
            let unauthorized = try await post(h, path, body)
            #expect(unauthorized.status == 502, "our upstream credential problem is not the client's 401")
            #expect(!unauthorized.body.contains("sk-fake"))
        }
    }

    @Test func failoverTriesTheNextProviderBeforeAnythingIsSent() async throws {
        let backup = try await FakeProvider.start(.openai, models: ["gpt-fake"])
        try await GatewayHarness.withRunning(extra: [
            "LLM_PROVIDERS": "oa,an,ge,ob", "LLM_PROVIDER_ob_BASE_URL": backup.baseURL, "LLM_PROVIDER_ob_API_KEY": "sk-backup",
        ]) { h in
            h.openai.setBehavior(.fail(status: 503))
            for stream in [false, true] {
                for _ in 0..<4 {
                    let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "fail over", stream: stream)
                    let reply = try await post(h, path, body)
                    #expect(reply.status == 200)
                    #expect(try Ingress.chat.read(reply.body, stream: stream).text.hasPrefix("Echo: fail over"))
                }
            }
            #expect(backup.completions.count == 8)
        }
        await backup.stop()
    }

    @Test func streamsAskForUsageButShowItOnlyWhenTheClientDid() async throws {
        try await GatewayHarness.withRunning { h in
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "usage", stream: true)
            let without = try await post(h, path, body)
            #expect(without.status == 200)
            #expect(!without.body.contains("\"usage\""), "the usage chunk the gateway asked for is removed")
            #expect(without.body.hasSuffix("data: [DONE]\n\n"))
            #expect(h.openai.completions.last?.body?["stream_options"]?["include_usage"] == .bool(true))
            guard case .object(var asked) = body else { return }
            asked["stream_options"] = .object(["include_usage": .bool(true)])
            let with = try await post(h, path, .object(asked))
            #expect(with.body.contains("\"prompt_tokens\":11"))
            // Accept: text/event-stream with no `stream` field streams too.
            guard case .object(var plain) = body else { return }
            plain["stream"] = nil
            let negotiated = try await post(h, path, .object(plain), headers: [("Accept", "text/event-stream")])
            #expect(negotiated.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            let lines = try await h.usageLines(atLeast: 3)
            #expect(lines.count == 3)
            #expect(lines.allSatisfy { $0["output_tokens"] as? String == "7" })
        }
    }

    /// After the first byte there is no failover: the stream ends with the client protocol's error event.
    @Test(arguments: Ingress.allCases) func aStreamCutAfterTheFirstByteEndsWithAnErrorEvent(_ ingress: Ingress) async throws {
        try await GatewayHarness.withRunning { h in
            for kind in GatewayMatrixTests.kinds {
                for behavior in [FakeProvider.Behavior.cutStream(afterFrames: 2), .streamError(afterFrames: 2)] {
                    h.fake(kind).setBehavior(behavior)
                    let (path, body) = ingress.request(model: GatewayHarness.models[kind]!, prompt: "a long answer please", stream: true)
                    let reply = try await post(h, path, body)
                    #expect(reply.status == 200)
                    let turn = try ingress.read(reply.body, stream: true)
                    #expect(turn.error != nil, "\(ingress) → \(kind) \(behavior): no error event in \(reply.body)")
                    #expect(!turn.completed || ingress == .chat, "\(ingress) → \(kind): a failed stream must not look complete")
                    if ingress == .chat { #expect(reply.body.hasSuffix("data: [DONE]\n\n")) }
                    if ingress == .messages { #expect(reply.body.contains("event: error")) }
                    if ingress == .responses { #expect(reply.body.contains("response.failed")) }
                    h.fake(kind).setBehavior(.normal)
                }
            }
            let outcomes = Set(try await h.usageLines(atLeast: 6).compactMap { $0["outcome"] as? String })
            #expect(outcomes.isSubset(of: ["upstream_cut", "upstream_error"]), "\(outcomes)")
        }
    }

    @Test func clientDisconnectCancelsTheUpstreamStream() async throws {
        try await GatewayHarness.withRunning { h in
            h.openai.setBehavior(.slowStream(interval: .milliseconds(100), frames: 200))
            let (path, body) = Ingress.chat.request(model: "gpt-fake", prompt: "go on forever", stream: true)
            let seen = try StreamPeek.readThenDisconnect(port: h.server.port, path: path, key: h.key, body: JSONText.render(body))
            #expect(seen.hasPrefix("HTTP/1.1 200"))
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while h.openai.abandonedStreams == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(h.openai.abandonedStreams == 1, "the upstream stream must be cancelled when the client goes away")
            #expect(try await h.usageLines(atLeast: 1).last?["outcome"] as? String == "client_disconnected")
        }
    }

    /// A client hanging up cancels its upstream call; that is not the provider failing, so however many clients
    /// leave, the provider must not cool down (it once did after three, answering everyone 503 for minutes).
    @Test func clientsLeavingBeforeTheAnswerDoNotCoolTheProviderDown() async throws {
        try await GatewayHarness.withRunning { h in
            h.openai.setBehavior(.delayHead(.seconds(3)))
            let (path, body) = Ingress.chat.request(model: "oa/gpt-fake", prompt: "never mind", stream: false)
            for _ in 0..<5 {
                try await StreamPeek.sendThenHangUp(port: h.server.port, path: path, key: h.key, body: JSONText.render(body), wait: .milliseconds(300))
            }
            #expect(h.openai.completions.count == 5, "each request reached the provider before its client left")
            try await Task.sleep(for: .milliseconds(300))  // the last hang-up's cancellation lands
            h.openai.setBehavior(.normal)
            let reply = try await post(h, path, body)
            #expect(reply.status == 200, "\(reply.body)")
        }
    }

    @Test func nativeResponsesArePassedThroughVerbatim() async throws {
        try await GatewayHarness.withRunning(openAIServesResponses: true) { h in
            let body: JSONValue = .object(["model": .string("gpt-fake"), "input": .string("native please"), "store": .bool(false)])
            let reply = try await post(h, "/v1/responses", body)
            #expect(reply.status == 200)
            #expect(try reply.json()["custom_upstream_field"] as? String == "kept")
            #expect(h.openai.completions.last?.path == "/v1/responses")
            #expect(h.openai.completions.last?.body?["store"] == .bool(false))
            guard case .object(var streamed) = body else { return }
            streamed["stream"] = .bool(true)
            let stream = try await post(h, "/v1/responses", .object(streamed))
            let turn = try Ingress.responses.read(stream.body, stream: true)
            #expect(turn.text == "Native: native please")
            #expect(turn.completed)
            #expect(stream.body.contains("event: response.output_text.delta"))
            let lines = try await h.usageLines(atLeast: 2)
            #expect(lines.count == 2)
            #expect(lines.allSatisfy { $0["input_tokens"] as? String == "11" && $0["cached_input_tokens"] as? String == "3" })
        }
    }

    @Test func unknownFieldsPassThroughAndNothingInTheBodyChangesTheUpstreamPath() async throws {
        try await GatewayHarness.withRunning { h in
            let body: JSONValue = .object([
                "model": .string("gpt-fake"), "messages": .array([.object(["role": .string("user"), "content": .string("hi")])]),
                "logit_bias": .object(["50256": .int(-100)]), "vendor_extension": .object(["x": .bool(true)]),
                "base_url": .string("http://127.0.0.1:1"), "_apiproxy_messages_path": .string("/steal"), "path": .string("/admin"),
            ])
            let reply = try await post(h, "/v1/chat/completions", body)
            #expect(reply.status == 200)
            let received = try #require(h.openai.completions.last)
            #expect(received.path == "/v1/chat/completions")
            #expect(received.body?["vendor_extension"] == .object(["x": .bool(true)]))
            #expect(received.body?["logit_bias"] == .object(["50256": .int(-100)]))
        }
    }

    /// Large bodies take several reads under the connection's receive-buffer cap and go upstream as a one-shot
    /// stream (`OneShotBody`): both must deliver every byte, passthrough and translated, streaming or not.
    @Test func largePromptsReachTheUpstreamWhole() async throws {
        try await GatewayHarness.withRunning { h in
            let prompt = (0..<30_000).map { "w\($0)" }.joined(separator: " ")
            #expect(prompt.utf8.count > 10 * ReceiveBufferLimit.maximum)
            for (model, fake) in [("gpt-fake", h.openai), ("claude-fake", h.anthropic)] {
                for stream in [false, true] {
                    let (path, body) = Ingress.chat.request(model: model, prompt: prompt, stream: stream)
                    let reply = try await post(h, path, body)
                    #expect(reply.status == 200, "\(model) stream=\(stream)")
                    if stream { #expect(reply.body.contains("[DONE]"), "\(model) stream ended cleanly") }
                    let received = try #require(fake.completions.last?.body)
                    #expect(JSONText.render(received).contains(prompt), "\(model) stream=\(stream): the upstream got the whole prompt")
                }
            }
        }
    }

    @Test func embeddingsAndImagesGoToOpenAICompatibleProviders() async throws {
        try await GatewayHarness.withRunning { h in
            let embedding = try await post(h, "/v1/embeddings", .object(["model": .string("text-embedding-fake"), "input": .string("hello")]))
            #expect(embedding.status == 200)
            #expect(((try embedding.json()["data"] as? [[String: Any]])?.first?["embedding"] as? [Double]) == [0.25, -0.5, 1])
            let image = try await post(h, "/v1/images/generations", .object(["model": .string("image-fake"), "prompt": .string("a cat")]))
            #expect(image.status == 200)
            #expect(h.openai.completions.contains { $0.path == "/v1/images/generations" })
            let missing = try await post(h, "/v1/embeddings", .object(["input": .string("no model")]))
            #expect(missing.status == 400)
            #expect(try missing.openAIError()["param"] as? String == "model")
            let wrongKind = try await post(h, "/v1/embeddings", .object(["model": .string("claude-fake"), "input": .string("x")]))
            #expect(wrongKind.status == 404)
        }
    }

    @Test func translatedRequestsAreValidatedWithFieldNames() async throws {
        try await GatewayHarness.withRunning { h in
            let bad: JSONValue = .object(["model": .string("claude-fake"), "messages": .array([.object(["role": .string("user"), "content": .int(5)])])])
            let reply = try await post(h, "/v1/chat/completions", bad)
            #expect(reply.status == 400)
            #expect(try reply.openAIError()["param"] as? String == "messages[0].content")
            let noMax = try await post(h, "/v1/messages", .object(["model": .string("gpt-fake"), "messages": .array([])]))
            #expect(noMax.status == 400)
            #expect(h.openai.completions.isEmpty, "nothing invalid was sent upstream")
        }
    }
}
