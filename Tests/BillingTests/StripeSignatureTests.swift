import Billing
import Core
import Foundation
import Testing
import TestSupport

/// Stripe's webhook signature scheme: `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "t.body">`, several `v1` allowed,
/// constant-time comparison, timestamp within the tolerance.
@Suite struct StripeSignatureTests {
    static let secret = "whsec_test_secret"
    static let payload = #"{"id":"evt_1","object":"event"}"#
    static let t: Int64 = 1_700_000_000
    /// Computed independently (Python's hmac) for the values above.
    static let known = "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"
    static let now = Date(timeIntervalSince1970: TimeInterval(t) + 10)

    func verify(_ header: String?, payload: String = payload, secret: String = secret, now: Date = now, tolerance: Duration = .seconds(300))
        throws(StripeSignature.Failure) -> Int64
    {
        try StripeSignature.verify(payload: Array(payload.utf8), header: header, secret: secret, tolerance: tolerance, now: now)
    }

    @Test func signatureMatchesAnIndependentComputation() throws {
        #expect(StripeSignature.signature(payload: Array(Self.payload.utf8), secret: Self.secret, timestamp: Self.t) == Self.known)
        #expect(FakeStripe.sign(Self.payload, secret: Self.secret, timestamp: Self.t) == Self.known)
        #expect(StripeSignature.header(payload: Array(Self.payload.utf8), secret: Self.secret, timestamp: Self.t) == "t=\(Self.t),v1=\(Self.known)")
        #expect(try verify("t=\(Self.t),v1=\(Self.known)") == Self.t)
    }

    @Test func anyOfSeveralV1SignaturesMayMatch() throws {
        let other = String(repeating: "ab", count: 32)
        #expect(try verify("t=\(Self.t),v1=\(other),v1=\(Self.known)") == Self.t)
        #expect(try verify("t=\(Self.t),v1=\(Self.known),v1=\(other),v0=\(other)") == Self.t)
        // Order and spacing as Stripe may send them; unknown schemes are ignored.
        #expect(try verify("v1=\(other), t=\(Self.t), v1=\(Self.known), v2=zzz") == Self.t)
    }

    @Test func wrongSignaturesAreRejected() {
        let tampered = Self.payload.replacingOccurrences(of: "evt_1", with: "evt_2")
        #expect(throws: StripeSignature.Failure.noMatchingSignature) { try verify("t=\(Self.t),v1=\(Self.known)", payload: tampered) }
        #expect(throws: StripeSignature.Failure.noMatchingSignature) { try verify("t=\(Self.t),v1=\(Self.known)", secret: "whsec_other") }
        // The signature of another timestamp does not carry over.
        #expect(throws: StripeSignature.Failure.noMatchingSignature) { try verify("t=\(Self.t + 1),v1=\(Self.known)") }
        // Case, truncation and a v0-only header are not matches.
        #expect(throws: StripeSignature.Failure.noMatchingSignature) { try verify("t=\(Self.t),v1=\(Self.known.uppercased())") }
        #expect(throws: StripeSignature.Failure.noMatchingSignature) { try verify("t=\(Self.t),v1=\(Self.known.dropLast(2))") }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verify("t=\(Self.t),v0=\(Self.known)") }
    }

    @Test func malformedOrMissingHeadersAreRejected() {
        #expect(throws: StripeSignature.Failure.missingHeader) { try verify(nil) }
        #expect(throws: StripeSignature.Failure.missingHeader) { try verify("") }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verify("v1=\(Self.known)") }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verify("t=\(Self.t)") }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verify("t=soon,v1=\(Self.known)") }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verify("t=\(Self.t),t=\(Self.t),v1=\(Self.known)") }
        #expect(throws: StripeSignature.Failure.malformedHeader) { try verify("garbage") }
    }

    @Test func timestampMustBeWithinTheTolerance() throws {
        let header = "t=\(Self.t),v1=\(Self.known)"
        let at = { (offset: Int64) in Date(timeIntervalSince1970: TimeInterval(Self.t + offset)) }
        #expect(try verify(header, now: at(300)) == Self.t, "exactly at the tolerance is accepted")
        #expect(throws: StripeSignature.Failure.timestampOutsideTolerance) { try verify(header, now: at(301)) }
        #expect(throws: StripeSignature.Failure.timestampOutsideTolerance) { try verify(header, now: at(3600)) }
        // A timestamp from the future beyond the tolerance (a pre-signed event) is refused too.
        #expect(throws: StripeSignature.Failure.timestampOutsideTolerance) { try verify(header, now: at(-301)) }
        #expect(try verify(header, now: at(-300)) == Self.t)
        // A tighter tolerance.
        #expect(throws: StripeSignature.Failure.timestampOutsideTolerance) { try verify(header, now: at(31), tolerance: .seconds(30)) }
        // A stale timestamp with a signature that does not match is reported as the signature failure.
        #expect(throws: StripeSignature.Failure.noMatchingSignature) { try verify("t=\(Self.t),v1=\(String(repeating: "0", count: 64))", now: at(3600)) }
    }

    @Test func providerMapsStripeAnswers() throws {
        // Interpretation of Stripe's answers: exercised end to end against the fake in PaymentsTests; here the
        // cents conversion, which must be exact.
        let stripe = StripePaymentProvider(settings: StripeSettings(secretKey: "sk_test_x", webhookSecret: "whsec_x", centsPerCredit: 100))
        #expect(try stripe.cents(Credits(parsing: "12.34")!) == 1234)
        #expect(try stripe.cents(Credits(parsing: "10")!) == 1000)
        #expect(throws: APIError.self) { try stripe.cents(Credits(parsing: "0.001")!) }
        #expect(throws: APIError.self) { try stripe.cents(.zero) }
        let cheap = StripePaymentProvider(settings: StripeSettings(secretKey: "sk_test_x", webhookSecret: "whsec_x", centsPerCredit: 1))
        #expect(try cheap.cents(Credits(parsing: "250")!) == 250)
        #expect(throws: APIError.self) { try cheap.cents(Credits(parsing: "2.5")!) }
    }
    @Test func paymentSettingsAreReadWithEveryProblemCollected() throws {
        let none = try AppConfig.load(from: [:]).payments
        #expect(none.stripe == nil && none.defaultProvider == .manual)
        let set = try AppConfig.load(from: [
            "AIHIGRESS_STRIPE_SECRET_KEY": "sk_test_abc", "AIHIGRESS_STRIPE_WEBHOOK_SECRET": "whsec_abc",
            "AIHIGRESS_STRIPE_API_BASE": "http://127.0.0.1:9999/", "AIHIGRESS_STRIPE_CENTS_PER_CREDIT": "10",
        ]).payments
        #expect(set.defaultProvider == .stripe)
        #expect(set.stripe?.apiBase == "http://127.0.0.1:9999")
        #expect(set.stripe?.centsPerCredit == 10)
        #expect(set.stripe?.webhookTolerance == .seconds(300))
        #expect(set.stripe?.description.contains("sk_test_abc") == false, "secrets never appear in descriptions")
        let error = #expect(throws: ConfigError.self) {
            try AppConfig.load(from: [
                "AIHIGRESS_STRIPE_SECRET_KEY": "sk_test_abc", "AIHIGRESS_STRIPE_API_BASE": "ftp://x", "AIHIGRESS_STRIPE_CENTS_PER_CREDIT": "0",
            ])
        }
        let problems = error?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("AIHIGRESS_STRIPE_WEBHOOK_SECRET"))
        #expect(problems.contains("AIHIGRESS_STRIPE_API_BASE"))
        #expect(problems.contains("AIHIGRESS_STRIPE_CENTS_PER_CREDIT"))
        #expect(throws: ConfigError.self) { try AppConfig.load(from: ["AIHIGRESS_PAYMENT_PROVIDER": "stripe"]) }
    }
}
