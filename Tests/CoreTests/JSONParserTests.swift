import Foundation
import Testing
@testable import Core

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONText.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2, 0.5, -1.5e3, 1E2, 0, true, false, null], "b": {"c": "d"}, "e": 9223372036854775807} "#)
        #expect(value == .object([
            "a": .array([.int(1), .int(-2), .double(0.5), .double(-1500), .double(100), .int(0), .bool(true), .bool(false), .null]),
            "b": .object(["c": .string("d")]),
            "e": .int(Int64.max),
        ]))
        #expect(try parse("18446744073709551616") == .double(18446744073709551616))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([:]))
    }

    @Test func decodesEscapesAndUnicode() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{8}\u{C}"))
        #expect(try parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try parse(#""\ud800x""#) == .string("\u{FFFD}x"), "a lone surrogate is replaced, not fatal")
        #expect(try parse("\"héllo ✓\"") == .string("héllo ✓"))
    }

    @Test func rejectsMalformedInput() {
        for bad in ["", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "01", "1.", ".5", "-", "tru", "\"unterminated", "\"tab\there\"",
                    "{\"a\":1}x", "[1 2]", "\"\\x\"", "\"\\u12\"", "NaN", "1e", String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            #expect(throws: APIError.self, "\(bad)") { try parse(bad) }
        }
    }

    @Test func agreesWithFoundationOnRealPayloads() throws {
        let payload = #"{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi \"there\" \u2603"},"finish_reason":null}],"usage":{"prompt_tokens":11,"completion_tokens":7},"temperature":0.7,"list":[1,2.25,"x",{"y":[]}]}"#
        let ours = try parse(payload)
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8))
        #expect(ours == foundation)
    }
}
