import NIOCore
import Testing
@testable import Core

/// `JSONObjectBytes` must accept exactly what the parser accepts, read members as the parsed tree has them, and
/// splice an object that parses to the tree with the same changes made.
@Suite struct JSONObjectBytesTests {
    private func object(_ text: String) throws -> JSONObjectBytes { try JSONObjectBytes(ByteBuffer(string: text)) }
    private func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    static let samples = [
        #"{"model":"gpt-x","messages":[{"role":"user","content":"Hi \"there\" \u2603"}],"temperature":0.70,"n":1e0}"#,
        #" { "stream" : true , "model":"a" ,"stream_options":{"include_usage":false},"x":[1,2.5,{"y":null}]} "#,
        #"{"mod\u0065l":"escaped key","long key that is longer than fifteen bytes":{"nested":{"deep":[[[]]]}}}"#,
        #"{}"#,
        #"{"model":"first","model":"last","tools":[],"tools":[{"type":"function"}]}"#,
    ]

    @Test func refusesWhatTheParserRefuses() {
        for bad in ["", "{", "{\"a\":}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}", "{\"a\":\"unterminated}", "{\"a\":\"tab\there\"}",
                    "{\"a\":1}x", "{\"a\":[1 2]}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":NaN}", "{\"a\":1e999}", "{\"a\":1,}",
                    "{1:2}", "{\"a\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"] {
            #expect(throws: JSONObjectBytes.Failure.invalid, "\(bad)") { try object(bad) }
            #expect(throws: APIError.self, "the parser agrees: \(bad)") { try JSONText.parse(Array(bad.utf8)) }
        }
        #expect(throws: JSONObjectBytes.Failure.notAnObject(typeName: "an array")) { try object("[1]") }
        #expect(throws: JSONObjectBytes.Failure.notAnObject(typeName: "a string")) { try object(#" "x" "#) }
    }

    @Test func readsMembersAsTheTreeHasThem() throws {
        for sample in Self.samples {
            let bytes = try object(sample)
            let tree = try JSONText.parse(Array(sample.utf8)).objectValue ?? [:]
            #expect(bytes.object() == tree, "\(sample)")
            #expect(bytes.count == sample.utf8.count)
            for (key, value) in tree { #expect(bytes[key] == value, "\(sample): \(key)") }
            #expect(bytes["absent"] == nil)
            #expect(bytes.members(["model", "stream", "absent"]) == tree.filter { ["model", "stream"].contains($0.key) })
        }
        #expect(try object(Self.samples[4])["model"] == .string("last"), "the last of duplicate keys wins, as in the tree")
        #expect(try object(Self.samples[2])["model"] == .string("escaped key"), "keys are compared unescaped")
    }

    @Test func aSpliceParsesToTheTreeWithTheSameChanges() throws {
        let changes: [[(key: String, value: JSONValue)]] = [
            [("model", .string("upstream-model"))],
            [("model", .string("m")), ("stream", .bool(true)), ("stream_options", .object(["include_usage": .bool(true)]))],
            [],
        ]
        for sample in Self.samples {
            for change in changes {
                var expected = try JSONText.parse(Array(sample.utf8)).objectValue ?? [:]
                for (key, value) in change { expected[key] = value }
                let spliced = try object(sample).replacing(change)
                #expect(try JSONText.parse(Array(spliced.readableBytesView)) == .object(expected), "\(sample) with \(change.map(\.key))")
            }
        }
    }

    @Test func aSpliceKeepsTheClientsBytesButForTheChanges() throws {
        let sample = #"{"messages":[ {"role":"user", "content":"hi"} ],"model":"client-model","temperature":1.0,"stop":null}"#
        #expect(text(try object(sample).replacing([("model", .string("up"))]))
            == #"{"messages":[ {"role":"user", "content":"hi"} ],"model":"up","temperature":1.0,"stop":null}"#)
        #expect(text(try object(sample).replacing([("stream", .bool(true))]))
            == #"{"messages":[ {"role":"user", "content":"hi"} ],"model":"client-model","temperature":1.0,"stop":null,"stream":true}"#)
        // Nothing to change: the bytes go as they came, spaces and all.
        let spaced = #"{ "model" : "same" , "n" : 2 }"#
        #expect(text(try object(spaced).replacing([("model", .string("same"))])) == spaced)
    }

    @Test func duplicateKeysReachTheProviderOnceWithTheValueTheGatewayRead() throws {
        let sample = #"{"model":"cheap","max_tokens":1,"messages":[],"max_tokens":4000,"model":"expensive"}"#
        let bytes = try object(sample)
        #expect(bytes["model"] == .string("expensive"))
        #expect(text(bytes.replacing([("model", .string("expensive"))])) == #"{"model":"expensive","messages":[],"max_tokens":4000}"#)
        // A key nothing sets keeps its last occurrence, where that one stood.
        #expect(text(bytes.replacing([])) == #"{"messages":[],"max_tokens":4000,"model":"expensive"}"#)
        let escaped = #"{"model":"a","mod\u0065l":"b"}"#
        #expect(text(try object(escaped).replacing([("model", .string("up"))])) == #"{"model":"up"}"#)
    }
}
