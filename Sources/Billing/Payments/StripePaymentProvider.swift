import AsyncHTTPClient
import Core
import Foundation
import NIOCore
import NIOHTTP1
import Tenancy

/// Charges an organisation's saved Stripe customer and payment method off-session: one
/// `POST {api base}/v1/payment_intents` (form-encoded, `confirm=true`, `off_session=true`) with the payment's
/// `Idempotency-Key`, so a retried call returns the PaymentIntent of the first instead of charging twice.
/// Credits convert to the currency's smallest unit with `AIHIGRESS_STRIPE_CENTS_PER_CREDIT` and must come out
/// whole. Webhooks (`StripeSignature`) complete intents that were still processing.
public struct StripePaymentProvider: PaymentProvider {
    public let settings: StripeSettings

    public init(settings: StripeSettings) {
        self.settings = settings
    }

    public var name: PaymentSettings.ProviderName { .stripe }
    public var needsPaymentMethod: Bool { true }

    /// One client for the process: never shut down (a global is never deinitialised).
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
    )
    static let maxBody = 1024 * 1024

    public func providerAmount(_ amount: Credits) throws(APIError) -> (amount: Int64, currency: String)? {
        (try cents(amount), settings.currency)
    }

    /// `amount × cents per credit`, which must be a positive whole number of cents.
    public func cents(_ amount: Credits) throws(APIError) -> Int64 {
        let (scaled, overflow) = amount.micros.multipliedReportingOverflow(by: settings.centsPerCredit)
        guard amount > .zero, !overflow, scaled % Credits.microPerCredit == 0 else {
            let step = Credits(micros: max(1, Credits.microPerCredit / settings.centsPerCredit))
            throw .badRequest(
                "amount must be a positive multiple of \(step) credits (\(settings.centsPerCredit) \(settings.currency) cents per credit)",
                param: "amount", code: "invalid_amount"
            )
        }
        return scaled / Credits.microPerCredit
    }

    public func charge(_ request: ChargeRequest) async throws(PaymentProviderError) -> ChargeOutcome {
        guard let customer = request.customerId, let method = request.paymentMethodId else {
            throw PaymentProviderError("no saved Stripe customer and payment method for this organisation", retryable: false)
        }
        let cents: Int64
        do { cents = try self.cents(request.amount) } catch { throw PaymentProviderError(error.message, retryable: false) }
        let form: [(String, String)] = [
            ("amount", String(cents)), ("currency", settings.currency), ("customer", customer), ("payment_method", method),
            ("confirm", "true"), ("off_session", "true"), ("description", request.description),
            ("metadata[payment_id]", request.paymentId), ("metadata[org_id]", request.orgId),
        ]
        var http = HTTPClientRequest(url: settings.apiBase + "/v1/payment_intents")
        http.method = .POST
        http.headers.add(name: "Authorization", value: "Bearer \(settings.secretKey)")
        http.headers.add(name: "Idempotency-Key", value: request.idempotencyKey)
        http.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        http.headers.add(name: "Accept", value: "application/json")
        http.headers.add(name: "User-Agent", value: "aihigress-payments")
        http.body = .bytes(ByteBuffer(string: OAuthHTTP.formEncode(form)))

        let status: Int
        let headers: HTTPHeaders
        let body: JSONValue?
        do {
            let response = try await Self.client.execute(http, timeout: .seconds(settings.requestTimeout.components.seconds))
            status = Int(response.status.code)
            headers = response.headers
            let bytes = try await response.body.collect(upTo: Self.maxBody)
            body = try? JSONText.parse(bytes.readableBytesView)
        } catch {
            // The request may or may not have reached Stripe; repeating it with the same key is safe either way.
            throw PaymentProviderError("Stripe could not be reached: \(error)", retryable: true)
        }
        return try Self.interpret(status: status, shouldRetry: headers.first(name: "Stripe-Should-Retry"), body: body)
    }

    /// Maps Stripe's answer to an outcome. Never echoes Stripe's body beyond its human-readable error message.
    static func interpret(status: Int, shouldRetry: String?, body: JSONValue?) throws(PaymentProviderError) -> ChargeOutcome {
        let error = body?["error"]
        let message = error?["message"]?.stringValue.map { String($0.prefix(300)) }
        switch status {
        case 200..<300:
            guard let intent = body, let id = intent["id"]?.stringValue, let state = intent["status"]?.stringValue else {
                throw PaymentProviderError("Stripe answered \(status) without a PaymentIntent", retryable: true)
            }
            switch state {
            case "succeeded":
                return .succeeded(providerPaymentId: id)
            case "processing", "requires_capture":
                return .pending(providerPaymentId: id)
            case "requires_action", "requires_confirmation":
                return .declined(providerPaymentId: id, message: "the card needs the customer's authentication, which an off-session charge cannot ask for")
            case "canceled":
                return .declined(providerPaymentId: id, message: "the payment was canceled")
            default:
                let reason = intent["last_payment_error"]?["message"]?.stringValue ?? "the payment method was refused (\(state))"
                return .declined(providerPaymentId: id, message: String(reason.prefix(300)))
            }
        case 402:
            // card_error: declined, insufficient funds, authentication required. Final.
            let intentId = error?["payment_intent"]?["id"]?.stringValue
            let code = error?["decline_code"]?.stringValue ?? error?["code"]?.stringValue
            let text = (message ?? "the card was declined") + (code.map { " (\($0))" } ?? "")
            return .declined(providerPaymentId: intentId, message: text)
        default:
            var retryable = status == 409 || status == 429 || status >= 500
            if let shouldRetry { retryable = shouldRetry.lowercased() == "true" }
            let type = error?["type"]?.stringValue ?? "error"
            throw PaymentProviderError("Stripe answered \(status) \(type)" + (message.map { ": \($0)" } ?? ""), retryable: retryable)
        }
    }
}
