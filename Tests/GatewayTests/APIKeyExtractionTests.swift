import Core
import HTTPTypes
import Hummingbird
import Testing
@testable import Gateway

@Suite struct APIKeyExtractionTests {
    private func request(_ path: String, _ fields: [(String, String)]) -> Request {
        var headers = HTTPFields()
        for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
        let head = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: path, headerFields: headers)
        return Request(head: head, body: .init(buffer: .init()))
    }

    @Test func readsTheKeyFromEachSupportedPlace() {
        #expect(APIKeyMiddleware.presentedKey(request("/v1/chat/completions", [("Authorization", "Bearer ahg-1")])) == "ahg-1")
        #expect(APIKeyMiddleware.presentedKey(request("/v1/chat/completions", [("Authorization", "bearer  ahg-2")])) == "ahg-2")
        #expect(APIKeyMiddleware.presentedKey(request("/v1/messages", [("x-api-key", "ahg-3")])) == "ahg-3")
        #expect(APIKeyMiddleware.presentedKey(request("/v1beta/models/m:generateContent", [("x-goog-api-key", "ahg-4")])) == "ahg-4")
        #expect(APIKeyMiddleware.presentedKey(request("/v1beta/models/m:generateContent?key=ahg-5", [])) == "ahg-5")
        #expect(APIKeyMiddleware.presentedKey(request("/v1/models/m:streamGenerateContent?alt=sse", [("x-goog-api-key", "ahg-6")])) == "ahg-6")
    }

    @Test func geminiStyleKeysCountOnlyOnGeminiRoutes() {
        #expect(APIKeyMiddleware.presentedKey(request("/v1/chat/completions?key=ahg-5", [])) == nil)
        #expect(APIKeyMiddleware.presentedKey(request("/v1/chat/completions", [("x-goog-api-key", "ahg-4")])) == nil)
        #expect(APIKeyMiddleware.presentedKey(request("/v1/models", [("Authorization", "Basic abc")])) == nil)
    }

    /// The header is read as splitting it at its first space would read it (leading spaces skipped, the rest trimmed).
    @Test func bearerHeadersInTheirOddShapes() {
        #expect(APIKeyMiddleware.bearerToken("BEARER k1") == "k1")
        #expect(APIKeyMiddleware.bearerToken("  Bearer k2 ") == "k2")
        #expect(APIKeyMiddleware.bearerToken("Bearer a b") == "a b")
        #expect(APIKeyMiddleware.bearerToken("Bearer   ") == "")
        #expect(APIKeyMiddleware.bearerToken("Bearer ") == nil)
        #expect(APIKeyMiddleware.bearerToken("Bearer") == nil)
        #expect(APIKeyMiddleware.bearerToken("Bearerx k") == nil)
    }
}
