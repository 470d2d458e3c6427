import Foundation
import Testing
@testable import Core

/// `JSONText.render` must stay byte for byte what `JSONEncoder` with sorted keys and unescaped slashes produced:
/// adapter golden files, stored rows and signatures depend on it. Every case is checked against that encoder.
@Suite struct JSONWriterTests {
    private func foundation(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }

    private func expectSameAsFoundation(_ value: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        let ours = JSONText.render(value)
        #expect(ours == foundation(value), sourceLocation: sourceLocation)
        #expect(JSONText.bytes(value) == Array(ours.utf8), sourceLocation: sourceLocation)
    }

    @Test func escapesEveryControlCharacterQuoteAndBackslashButNotSlashes() {
        for byte in UInt8(0)...UInt8(0x7F) {
            expectSameAsFoundation(.string("a\(Character(Unicode.Scalar(byte)))b"))
        }
        expectSameAsFoundation(.string("\"quoted\" \\ back/slash </script> \u{7F}"))
        #expect(JSONText.render(.string("\u{0}\u{1F}\n\"/")) == #""\u0000\u001f\n\"/""#)
    }

    @Test func leavesUnicodeAsUTF8() {
        for text in ["é", "e\u{301}", "中文", "😀👍🏽", "\u{2028}\u{2029}", "\u{FEFF}", "\u{FFFD}", "Ω≈ç√∫", "🇺🇳", ""] {
            expectSameAsFoundation(.string(text))
            expectSameAsFoundation(.object([text: .string(text)]))
        }
    }

    @Test func formatsIntegersAndDoublesAsJSONEncoderDid() {
        let integers: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 1_000_000, Int64(Int32.max), Int64.max, Int64.min, Int64.min + 1]
        for integer in integers { expectSameAsFoundation(.int(integer)) }
        let doubles: [Double] = [
            0, -0.0, 1, -1, 0.5, 1.5, 0.1 + 0.2, 100, 1e-7, 1e-5, 123.456, 1e15, 1e16, 1e17, 1e21, 1e22, 123456789012345680,
            .pi, -.pi, Double.leastNonzeroMagnitude, Double.leastNormalMagnitude, Double.greatestFiniteMagnitude, 9007199254740994, 0.7,
        ]
        for double in doubles { expectSameAsFoundation(.double(double)) }
        #expect(JSONText.render(.array([.int(1), .double(1), .double(1.25), .double(-0.0)])) == "[1,1,1.25,-0]")
    }

    @Test func rendersNullForValuesJSONCannotCarry() {
        for bad in [Double.infinity, -.infinity, .nan] {
            expectSameAsFoundation(.double(bad))
            expectSameAsFoundation(.object(["ok": .int(1), "nested": .array([.double(bad)])]))
        }
        #expect(JSONText.render(.array([.double(.nan)])) == "null")
    }

    @Test func sortsKeysByUTF8Bytes() {
        let keys = ["b", "a", "B", "A", "_", "aa", "a1", "a10", "a9", "10", "9", "1", "é", "z", "Z", "~", " ", "", "中", "😀", "ab", "a-b"]
        let object = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, .int(Int64($0))) }))
        expectSameAsFoundation(object)
        #expect(JSONText.render(.object(["b": .null, "a": .null, "B": .null])) == #"{"B":null,"a":null,"b":null}"#)
    }

    @Test func rendersEmptyAndNestedContainers() {
        let values: [JSONValue] = [
            .null, .bool(true), .bool(false), .array([]), .object([:]), .array([.array([]), .object([:])]),
            .object(["a": .object(["b": .array([.null, .bool(false), .object(["c": .string("d")])])]), "e": .array([])]),
        ]
        for value in values { expectSameAsFoundation(value) }
        #expect(JSONText.render(.object(["a": .array([]), "b": .object([:])])) == #"{"a":[],"b":{}}"#)
    }

    @Test func givesUpAtTheSameNestingDepth() {
        for depth in [1, 100, 510, 511, 512, 513, 600] {
            var array = JSONValue.int(1)
            var object = JSONValue.int(1)
            for _ in 0..<depth {
                array = .array([array])
                object = .object(["k": object])
            }
            expectSameAsFoundation(array)
            expectSameAsFoundation(object)
        }
    }

    @Test func agreesWithJSONEncoderOnManyRandomDocuments() {
        var random = SplitMix(seed: 0x5EED)
        for _ in 0..<400 {
            expectSameAsFoundation(Self.randomValue(&random, depth: 0))
        }
    }

    /// Passthrough bodies are parsed and rendered again: a second pass must not change the text.
    @Test func rendersParsedOutputIdentically() throws {
        var random = SplitMix(seed: 42)
        for _ in 0..<100 {
            let text = JSONText.bytes(Self.randomValue(&random, depth: 0, finiteOnly: true))
            #expect(try JSONText.bytes(JSONText.parse(text)) == text)
        }
    }

    private static func randomValue(_ random: inout SplitMix, depth: Int, finiteOnly: Bool = false) -> JSONValue {
        let pick = depth > 3 ? random.next() % 5 : random.next() % 7
        switch pick {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .int(Int64(bitPattern: random.next()) >> (random.next() % 64))
        case 3:
            let double = Double(bitPattern: random.next())
            if finiteOnly && !double.isFinite { return .double(0.25) }
            return .double(random.next() % 4 == 0 ? double : Double(Int64(bitPattern: random.next()) % 100_000) / 64)
        case 4: return .string(randomString(&random))
        case 5: return .array((0..<Int(random.next() % 5)).map { _ in randomValue(&random, depth: depth + 1, finiteOnly: finiteOnly) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int(random.next() % 6) { members[randomString(&random)] = randomValue(&random, depth: depth + 1, finiteOnly: finiteOnly) }
            return .object(members)
        }
    }

    private static func randomString(_ random: inout SplitMix) -> String {
        let alphabet: [Unicode.Scalar] = ["a", "b", "Z", "0", "9", " ", "/", "\"", "\\", "\n", "\t", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "中", "😀", "\u{301}", "\u{2028}"]
        var text = ""
        for _ in 0..<Int(random.next() % 12) { text.unicodeScalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
        return text
    }
}

/// A small seeded generator so the random documents are the same on every run.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
