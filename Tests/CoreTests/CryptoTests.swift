import Crypto
import Foundation
import Testing
@testable import Core

@Suite struct CryptoTests {
    let ring = KeyRing(secret: "a-development-secret-of-32-chars-or-more")

    @Test func hashesAreStablePerPurposeAndSecret() {
        let a = ring.hash("ahg-key", purpose: .apiKeyHash)
        #expect(a == ring.hash("ahg-key", purpose: .apiKeyHash))
        #expect(a.count == 64)
        #expect(a != ring.hash("ahg-key", purpose: .tokenHash))
        #expect(a != KeyRing(secret: "another-secret-of-at-least-32-characters").hash("ahg-key", purpose: .apiKeyHash))
    }

    @Test func secretBoxRoundTripsAndRejectsTampering() throws {
        let box = SecretBox(keyRing: ring)
        let sealed = try box.seal("sk-upstream-secret")
        #expect(sealed.hasPrefix("v1:"))
        #expect(!sealed.contains("sk-upstream"))
        #expect(try box.open(sealed) == "sk-upstream-secret")
        #expect(try box.seal("same") != box.seal("same"), "nonces must differ")
        var bytes = Array(Data(base64Encoded: String(sealed.dropFirst(3)))!)
        bytes[bytes.count - 1] ^= 1
        #expect(throws: (any Error).self) { try box.open("v1:" + Data(bytes).base64EncodedString()) }
        #expect(throws: (any Error).self) { try SecretBox(keyRing: KeyRing(secret: "other-secret-xxxxxxxxxxxxxxxxxxxxxxxx")).open(sealed) }
    }

    @Test func randomTokensUseTheirAlphabet() {
        let token = RandomToken.base62(length: 500)
        #expect(token.count == 500)
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(RandomToken.base62(length: 48) != RandomToken.base62(length: 48))
        #expect(RandomToken.hex(byteCount: 16).count == 32)
    }

    @Test func identifiersAreVersion7AndTimeOrdered() {
        let early = Identifier.make(now: Date(timeIntervalSince1970: 1_700_000_000))
        let late = Identifier.make(now: Date(timeIntervalSince1970: 1_700_000_001))
        #expect(Identifier.isWellFormed(early))
        #expect(early < late)
        #expect(Array(early)[14] == "7")
        #expect(!Identifier.isWellFormed("not-an-id"))
        #expect(early.lowercased() == early)
        #expect(early.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(early.hasPrefix("018bcfe5-6800-7"), "the first 48 bits are the milliseconds")
    }

    @Test func identifiersMadeInTheSameMillisecondStillSortInCreationOrder() {
        let now = Date()
        let ids = (0..<1000).map { _ in Identifier.make(now: now) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { Identifier.isWellFormed($0) && Array($0)[14] == "7" && "89ab".contains(Array($0)[19]) })
    }

    /// The id generator's random bits: the reference xoshiro256** sequence for the state {1, 2, 3, 4}.
    @Test func idRandomBitsFollowTheReferenceGenerator() {
        struct Counting: RandomNumberGenerator {
            var value: UInt64 = 0
            mutating func next() -> UInt64 { value += 1; return value }
        }
        var generator = Xoshiro256StarStar(seededFrom: Counting())
        #expect((0..<4).map { _ in generator.next() } == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
    }

    @Test func hexMatchesPrintfFormatting() {
        let all = Array(UInt8(0)...UInt8(255))
        #expect(Hex.lowercase(all) == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.lowercase([]) == "")
        // A sequence without contiguous storage takes the copying path and writes the same text.
        #expect(Hex.lowercase(UInt8(0)...UInt8(255)) == Hex.lowercase(all))
        // Stored key hashes must not change: HKDF + HMAC-SHA-256 as computed independently (Python's hmac).
        #expect(ring.hash("ahg-key", purpose: .apiKeyHash) == "88ba8f0553cfdd11a7843bc2b89170aa29b7fbfce8f9b07aef311a44ebe2713a")
    }

    /// The precomputed-pad HMAC equals swift-crypto's for keys shorter than, equal to and longer than a block, and
    /// messages from empty to several blocks.
    @Test func keyedSHA256IsHMAC() {
        for keyLength in [1, 32, 64, 65, 200] {
            let key = SymmetricKey(data: (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
            let keyed = KeyedSHA256(key: key)
            for messageLength in [0, 1, 55, 56, 63, 64, 65, 200] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ keyLength) }
                let ours = message.withUnsafeBytes { keyed.authenticationCode(for: $0) }
                let theirs = HMAC<SHA256>.authenticationCode(for: message, using: key)
                #expect(Array(ours) == Array(theirs), "key \(keyLength) bytes, message \(messageLength) bytes")
            }
        }
    }

    @Test func randomBytesHaveTheRequestedLength() {
        for count in [0, 1, 7, 8, 9, 16, 33] { #expect(RandomToken.bytes(count).count == count) }
        #expect(RandomToken.bytes(16) != RandomToken.bytes(16))
    }
}
