import Core
import HTTPTypes
import Hummingbird
import NIOCore
import Tenancy

/// The OpenAI-compatible surface. Provider routing arrives with the gateway issue; until a provider is
/// configured no model is available, and requests say so in the OpenAI error shape.
public struct GatewayRoutes: Sendable {
    private let authenticator: APIKeyAuthenticator
    private let maxBodyBytes: Int

    public init(authenticator: APIKeyAuthenticator, maxBodyBytes: Int) {
        self.authenticator = authenticator
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(on router: Router<AppRequestContext>) {
        let v1 = router.group("v1").add(middleware: APIKeyMiddleware(authenticator: authenticator))
        v1.get("models") { _, context in try listModels(context) }
        router.group("models").add(middleware: APIKeyMiddleware(authenticator: authenticator)).get { _, context in
            try listModels(context)
        }
        let limit = maxBodyBytes
        v1.post("chat/completions") { request, context -> Response in
            var request = request
            let body = try await request.jsonObject(limit: limit)
            let model = try ChatRequestFields.model(in: body)
            throw ChatRequestFields.unknownModel(model)
        }
    }

    private func listModels(_ context: AppRequestContext) throws -> Response {
        let body = JSONText.object(["object": .string("list"), "data": .array([])])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Field checks shared by the chat-style ingress endpoints.
enum ChatRequestFields {
    static func model(in body: [String: JSONValue]) throws(APIError) -> String {
        guard let value = body["model"] else { throw .badRequest("'model' is required", param: "model", code: "missing_field") }
        guard let model = value.stringValue, !model.isEmpty else {
            throw .badRequest("'model' must be a non-empty string, got \(value.typeName)", param: "model", code: "invalid_type")
        }
        return model
    }

    static func unknownModel(_ model: String) -> APIError {
        .notFound("model '\(model)' is not available to this organization; GET /v1/models lists the models you can use", code: "model_not_found")
    }
}
