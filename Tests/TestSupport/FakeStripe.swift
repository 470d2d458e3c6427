import Core
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Stripe's PaymentIntents API on a real loopback HTTP server, speaking its wire protocol: `POST
/// /v1/payment_intents` with a Bearer secret key and a form-encoded body; `Idempotency-Key` replays answer what
/// the first request with that key answered (a different body with the same key is refused, as Stripe does);
/// declines are 402 `card_error`. Tests switch its behaviour, read the intents it made, and have it send signed
/// webhooks (`Stripe-Signature: t=…,v1=…`) to the gateway.
public final class FakeStripe: Sendable {
    public enum Behavior: Sendable, Equatable {
        /// Intents are confirmed at once: `status: succeeded`.
        case succeed
        /// 402 `card_error` / `card_declined`; the intent is left `requires_payment_method`.
        case decline
        /// Intents stay `processing`; a webhook completes them.
        case processing
        /// The next `times` requests answer `status` with an `api_error` (not saved against the key, as when
        /// Stripe failed before executing), then requests succeed.
        case fail(status: Int, times: Int)
        /// Wait this long, then succeed.
        case delay(Duration)
    }

    public struct Intent: Sendable {
        public let id: String
        public let amount: Int64
        public let currency: String
        public let customer: String
        public let paymentMethod: String
        public let metadata: [String: String]
        public let idempotencyKey: String?
        public var status: String

        public init(
            id: String, amount: Int64, currency: String, customer: String, paymentMethod: String, metadata: [String: String],
            idempotencyKey: String?, status: String
        ) {
            self.id = id
            self.amount = amount
            self.currency = currency
            self.customer = customer
            self.paymentMethod = paymentMethod
            self.metadata = metadata
            self.idempotencyKey = idempotencyKey
            self.status = status
        }

        public var json: JSONValue {
            .object([
                "id": .string(id), "object": .string("payment_intent"), "amount": .int(amount), "amount_received": .int(status == "succeeded" ? amount : 0),
                "currency": .string(currency), "customer": .string(customer), "payment_method": .string(paymentMethod), "status": .string(status),
                "confirmation_method": .string("automatic"), "livemode": .bool(false),
                "metadata": .object(metadata.mapValues(JSONValue.string)),
                "last_payment_error": status == "requires_payment_method"
                    ? .object(["type": .string("card_error"), "code": .string("card_declined"), "decline_code": .string("insufficient_funds"),
                               "message": .string("Your card has insufficient funds.")])
                    : .null,
            ])
        }
    }

    /// Every request to `/v1/payment_intents`, as received.
    public struct Received: Sendable {
        public let authorization: String?
        public let idempotencyKey: String?
        public let contentType: String?
        public let form: [String: String]
        public let status: Int
    }

    public let secretKey: String
    public let webhookSecret: String
    private let state = NIOLockedValueBox(State())
    private let server = LoopbackServer()
    private struct State {
        var behavior = Behavior.succeed
        var failuresLeft = 0
        var intents: [Intent] = []
        var received: [Received] = []
        /// Idempotency key → (form, status, body) of the first executed request.
        var saved: [String: (form: [String: String], status: Int, body: JSONValue)] = [:]
    }

    public var baseURL: String { server.baseURL }
    public var intents: [Intent] { state.withLockedValue { $0.intents } }
    public var received: [Received] { state.withLockedValue { $0.received } }

    public func setBehavior(_ behavior: Behavior) {
        state.withLockedValue {
            $0.behavior = behavior
            if case .fail(_, let times) = behavior { $0.failuresLeft = times }
        }
    }

    init(secretKey: String, webhookSecret: String) {
        self.secretKey = secretKey
        self.webhookSecret = webhookSecret
    }

    public static func start(secretKey: String = "sk_test_fake_0123456789", webhookSecret: String = "whsec_fake_0123456789") async throws -> FakeStripe {
        let fake = FakeStripe(secretKey: secretKey, webhookSecret: webhookSecret)
        let router = Router()
        router.post("/v1/payment_intents") { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 1024 * 1024)
            return await fake.createIntent(request, body: String(buffer: bytes))
        }
        try await fake.server.start(router, name: "fake Stripe")
        return fake
    }

    public func stop() async {
        await server.stop()
    }

    private func createIntent(_ request: Request, body: String) async -> Response {
        let form = LoopbackServer.form(body)
        let authorization = request.headers[.authorization]
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        let contentType = request.headers[.contentType]
        func answer(_ status: Int, _ body: JSONValue) -> Response {
            state.withLockedValue {
                $0.received.append(Received(authorization: authorization, idempotencyKey: key, contentType: contentType, form: form, status: status))
            }
            var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("Request-Id")!: "req_\(RandomToken.hex(byteCount: 6))"]
            if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONText.render(body))))
        }
        guard authorization == "Bearer \(secretKey)" else {
            return answer(401, Self.error(type: "invalid_request_error", message: "Invalid API Key provided"))
        }
        guard contentType?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return answer(400, Self.error(type: "invalid_request_error", message: "form-encoded body expected"))
        }
        if let key, let saved = state.withLockedValue({ $0.saved[key] }) {
            guard saved.form == form else {
                return answer(400, Self.error(type: "idempotency_error", message: "Keys for idempotent requests can only be used with the same parameters they were first used with."))
            }
            return answer(saved.status, saved.body)
        }
        for field in ["amount", "currency", "customer", "payment_method"] where form[field]?.isEmpty != false {
            return answer(400, Self.error(type: "invalid_request_error", message: "Missing required param: \(field).", param: field))
        }
        guard let amount = Int64(form["amount"]!), amount > 0 else {
            return answer(400, Self.error(type: "invalid_request_error", message: "Invalid integer: \(form["amount"]!)", param: "amount"))
        }
        guard form["confirm"] == "true", form["off_session"] == "true" else {
            return answer(400, Self.error(type: "invalid_request_error", message: "this fake only serves confirm=true&off_session=true"))
        }
        let behavior = state.withLockedValue { state -> Behavior in
            if case .fail = state.behavior, state.failuresLeft > 0 {
                state.failuresLeft -= 1
                return state.behavior
            }
            if case .fail = state.behavior { return .succeed }
            return state.behavior
        }
        if case .fail(let status, _) = behavior {
            return answer(status, Self.error(type: "api_error", message: "An unexpected error occurred (fake)."))
        }
        if case .delay(let duration) = behavior { try? await Task.sleep(for: duration) }
        var metadata: [String: String] = [:]
        for (name, value) in form where name.hasPrefix("metadata[") && name.hasSuffix("]") {
            metadata[String(name.dropFirst("metadata[".count).dropLast())] = value
        }
        let status = switch behavior {
        case .decline: "requires_payment_method"
        case .processing: "processing"
        default: "succeeded"
        }
        let intent = Intent(
            id: "pi_\(RandomToken.base62(length: 24))", amount: amount, currency: form["currency"]!, customer: form["customer"]!,
            paymentMethod: form["payment_method"]!, metadata: metadata, idempotencyKey: key, status: status
        )
        let (code, body): (Int, JSONValue) = behavior == .decline
            ? (402, .object(["error": .object([
                "type": .string("card_error"), "code": .string("card_declined"), "decline_code": .string("insufficient_funds"),
                "message": .string("Your card has insufficient funds."), "payment_intent": intent.json,
            ])]))
            : (200, intent.json)
        state.withLockedValue {
            $0.intents.append(intent)
            if let key { $0.saved[key] = (form, code, body) }
        }
        return answer(code, body)
    }

    /// Marks an intent (e.g. one left `processing`) with a new status, as Stripe would before sending its event.
    @discardableResult
    public func update(_ intentId: String, status: String) -> Intent? {
        state.withLockedValue { state in
            guard let index = state.intents.firstIndex(where: { $0.id == intentId }) else { return nil }
            state.intents[index].status = status
            return state.intents[index]
        }
    }

    // MARK: Webhooks

    /// A Stripe event for `intent`, as the exact bytes Stripe would post.
    public func event(_ type: String, intent: Intent) -> String {
        JSONText.render(.object([
            "id": .string("evt_\(RandomToken.base62(length: 24))"), "object": .string("event"), "api_version": .string("2024-06-20"),
            "created": .int(Int64(Date().timeIntervalSince1970)), "livemode": .bool(false), "pending_webhooks": .int(1),
            "type": .string(type), "data": .object(["object": intent.json]),
        ]))
    }

    /// `t=…,v1=…` for `payload` at `timestamp` (default now), signed with `secret` (default the endpoint's).
    public func signatureHeader(for payload: String, timestamp: Int64? = nil, secret: String? = nil) -> String {
        let t = timestamp ?? Int64(Date().timeIntervalSince1970)
        return "t=\(t),v1=\(Self.sign(payload, secret: secret ?? webhookSecret, timestamp: t))"
    }

    public static func sign(_ payload: String, secret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(payload)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Posts `payload` to `url` with `signature` as the Stripe-Signature header (nil: none).
    public func deliver(_ payload: String, signature: String?, to url: String) async throws -> HTTPTestClient.Reply {
        var headers = [("Content-Type", "application/json; charset=utf-8"), ("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")]
        if let signature { headers.append(("Stripe-Signature", signature)) }
        return try await HTTPTestClient.shared.send(.POST, url, headers: headers, body: payload)
    }

    // MARK: Wire helpers

    static func error(type: String, message: String, param: String? = nil) -> JSONValue {
        var error: [String: JSONValue] = ["type": .string(type), "message": .string(message)]
        if let param { error["param"] = .string(param) }
        return .object(["error": .object(error)])
    }
}
