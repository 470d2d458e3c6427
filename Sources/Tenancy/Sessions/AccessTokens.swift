import Core
import Foundation
import JWTKit

/// Short-lived access tokens: HS256 JWTs signed with a key derived from the server secret. They name the user,
/// the login session and the user's token version; the session and version are checked on every request, so a
/// revoked session or a disabled user stops working at once, not when the token expires.
public struct AccessTokens: Sendable {
    public struct Claims: JWTPayload, Equatable {
        public var sub: SubjectClaim
        public var sid: String
        public var ver: Int64
        public var iss: IssuerClaim
        public var iat: IssuedAtClaim
        public var exp: ExpirationClaim

        public func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
            guard iss.value == AccessTokens.issuer else { throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "wrong issuer") }
        }
    }

    static let issuer = "aihigress"
    public let lifetime: Duration
    private let keys: JWTKeyCollection

    public init(keyRing: KeyRing, lifetime: Duration) async {
        let secret = keyRing.key(for: .accessTokenSigning).withUnsafeBytes { Data($0) }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: .init(data: secret)), digestAlgorithm: .sha256)
        self.keys = keys
        self.lifetime = lifetime
    }

    public func issue(userId: String, sessionId: String, tokenVersion: Int64, now: Date = Date()) async throws -> String {
        // Whole seconds: some JWT consumers reject fractional NumericDates.
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = Claims(
            sub: .init(value: userId), sid: sessionId, ver: tokenVersion, iss: .init(value: Self.issuer),
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(lifetime.seconds))
        )
        return try await keys.sign(claims)
    }

    /// The verified claims, or nil for anything that is not a valid, unexpired token of ours.
    public func verify(_ token: String) async -> Claims? {
        try? await keys.verify(token, as: Claims.self)
    }
}
