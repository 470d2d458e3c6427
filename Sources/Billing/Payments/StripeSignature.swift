import Core
import Crypto
import Foundation

/// Stripe's webhook signature scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]` where each
/// `v1` is the hex HMAC-SHA-256, under the endpoint's signing secret, of `"<t>.<raw body>"`. Several `v1` values
/// appear while a secret is being rolled; one match is enough. Comparisons are constant-time, and the signed
/// timestamp must be within the tolerance of now (either way), so a captured event cannot be replayed later.
public enum StripeSignature {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missingHeader
        case malformedHeader
        case noMatchingSignature
        case timestampOutsideTolerance

        public var description: String {
            switch self {
            case .missingHeader: "the Stripe-Signature header is missing"
            case .malformedHeader: "the Stripe-Signature header must carry t=<timestamp> and at least one v1=<signature>"
            case .noMatchingSignature: "no v1 signature matches the payload"
            case .timestampOutsideTolerance: "the signed timestamp is outside the tolerance"
            }
        }
    }

    /// Verifies `header` for `payload` (the raw body, before any parsing); returns the signed timestamp.
    @discardableResult
    public static func verify(
        payload: some Collection<UInt8>, header: String?, secret: String, tolerance: Duration, now: Date = Date()
    ) throws(Failure) -> Int64 {
        guard let header, !header.isEmpty else { throw .missingHeader }
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "t":
                guard timestamp == nil, let parsed = Int64(value) else { throw .malformedHeader }
                timestamp = parsed
            case "v1":
                signatures.append(Array(value.utf8))
            default:
                continue  // v0 (test-mode legacy) and future schemes are ignored
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        let expected = Array(signature(payload: payload, secret: secret, timestamp: timestamp).utf8)
        var matched = false
        for candidate in signatures where candidate.constantTimeEquals(expected) { matched = true }
        guard matched else { throw .noMatchingSignature }
        let age = Int64(now.timeIntervalSince1970.rounded(.down)) - timestamp
        guard age.magnitude <= UInt64(max(0, tolerance.components.seconds)) else { throw .timestampOutsideTolerance }
        return timestamp
    }

    /// The lowercase hex `v1` signature of `payload` at `timestamp`.
    public static func signature(payload: some Collection<UInt8>, secret: String, timestamp: Int64) -> String {
        var signed = Array("\(timestamp).".utf8)
        signed.append(contentsOf: payload)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return Hex.lowercase(mac)
    }

    /// A complete header value, as Stripe sends it.
    public static func header(payload: some Collection<UInt8>, secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(signature(payload: payload, secret: secret, timestamp: timestamp))"
    }
}
