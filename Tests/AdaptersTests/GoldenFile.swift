import Core
import Foundation
import Testing

/// Reads and compares golden files under `Tests/AdaptersTests/Golden`. With `AIHIGRESS_UPDATE_GOLDEN=1` a missing
/// or different expected file is (re)written in the source tree instead — review the diff before committing.
enum GoldenFile {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(relativePath), encoding: .utf8)
    }

    static func json(_ relativePath: String) throws -> JSONValue {
        try JSONText.parse(Array(try text(relativePath).utf8))
    }

    static func object(_ relativePath: String) throws -> [String: JSONValue] {
        guard case .object(let o) = try json(relativePath) else { throw GoldenError("\(relativePath) is not a JSON object") }
        return o
    }

    /// Compares `actual` with the expected JSON file (semantic equality: key order and spacing do not matter).
    static func expectJSON(_ actual: JSONValue, matches relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(relativePath)
        if ProcessInfo.processInfo.environment["AIHIGRESS_UPDATE_GOLDEN"] == "1" {
            try pretty(actual).write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try json(relativePath)
        #expect(actual == expected, "golden \(relativePath) differs; actual:\n\(pretty(actual))", sourceLocation: sourceLocation)
    }

    /// Compares a stream's frames with an expected `.sse` file (exact text).
    static func expectSSE(_ frames: [SSEFrame], matches relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let actual = frames.map(\.serialized).joined()
        let url = directory.appendingPathComponent(relativePath)
        if ProcessInfo.processInfo.environment["AIHIGRESS_UPDATE_GOLDEN"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(actual == (try text(relativePath)), "golden \(relativePath) differs; actual:\n\(actual)", sourceLocation: sourceLocation)
    }

    /// Parses an `.sse` file into frames (for feeding stream decoders).
    static func frames(_ relativePath: String) throws -> [SSEFrame] {
        var parser = SSEParser()
        return parser.feed(Array(try text(relativePath).utf8)) + parser.finish()
    }

    static func pretty(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }
}

struct GoldenError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
