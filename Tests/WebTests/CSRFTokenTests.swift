import Core
import Testing
@testable import Web

@Suite struct CSRFTokenTests {
    let tokens = CSRFTokens(keyRing: KeyRing(secret: "console-secret-with-at-least-32-chars"), lifetimeSeconds: 60)

    @Test func aTokenIsValidOnlyForItsSessionAndLifetime() {
        let token = tokens.issue(sessionId: "s1", now: 1000)
        #expect(tokens.verify(token, sessionId: "s1", now: 1030))
        #expect(!tokens.verify(token, sessionId: "s2", now: 1030))
        #expect(!tokens.verify(token, sessionId: "s1", now: 1061))
        #expect(!tokens.verify("", sessionId: "s1", now: 1000))
        #expect(!tokens.verify("9999999999.forged", sessionId: "s1", now: 1000))
        let parts = token.split(separator: ".")
        #expect(!tokens.verify("\(Int(parts[0])! + 100).\(parts[1])", sessionId: "s1", now: 1000), "expiry is covered by the MAC")
    }

    @Test func anotherServerSecretProducesDifferentTokens() {
        let other = CSRFTokens(keyRing: KeyRing(secret: "a-completely-different-secret-xxxxxxx"), lifetimeSeconds: 60)
        #expect(!other.verify(tokens.issue(sessionId: "s1", now: 1000), sessionId: "s1", now: 1000))
    }
}
