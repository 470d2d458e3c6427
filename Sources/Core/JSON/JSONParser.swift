/// A byte-level JSON parser producing `JSONValue`. Foundation's `JSONDecoder` into an enum allocates heavily and
/// dominated the cost of relaying streams (every SSE frame is parsed); this parser is a single pass over UTF-8.
/// Integers without fraction or exponent that fit in 64 bits become `.int`; other numbers `.double`.
struct JSONParser {
    struct Failure: Error {}

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    private static let maxDepth = 512

    static func parse(_ input: some Collection<UInt8>) throws -> JSONValue {
        let run: (UnsafeBufferPointer<UInt8>) throws -> JSONValue = { buffer in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.value()
            try parser.expectEnd()
            return value
        }
        if let result = try input.withContiguousStorageIfAvailable(run) { return result }
        return try Array(input).withUnsafeBufferPointer(run)
    }

    /// A member of an object: its key, and where the key (with its quotes) and the value lie in the input.
    struct Member: Sendable {
        let key: String
        let keyBytes: Range<Int>
        let valueBytes: Range<Int>
    }

    /// The members of a document that is an object, in order and duplicates included, with the whole document
    /// checked as `parse` checks it but nothing below the top level built; nil for a valid document that is not
    /// an object.
    static func objectMembers(_ input: UnsafeBufferPointer<UInt8>) throws -> [Member]? {
        var parser = JSONParser(bytes: input)
        parser.skipWhitespace()
        guard parser.index < input.count, input[parser.index] == UInt8(ascii: "{") else {
            try parser.skipValue()
            try parser.expectEnd()
            return nil
        }
        var members: [Member] = []
        // Requests and answers carry a handful of top-level members: one allocation instead of one per doubling.
        members.reserveCapacity(8)
        try parser.container(close: UInt8(ascii: "}")) { parser in
            let keyStart = parser.index
            let key = try parser.key()
            let keyEnd = parser.index
            try parser.colon()
            let valueStart = parser.index
            try parser.skipValue()
            members.append(Member(key: key, keyBytes: keyStart..<keyEnd, valueBytes: valueStart..<parser.index))
        }
        try parser.expectEnd()
        return members
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private mutating func expectEnd() throws {
        skipWhitespace()
        guard index == bytes.count else { throw Failure() }
    }

    /// Checks a value as `value()` reads it, building nothing but the numbers' text (keys included: they are only
    /// checked).
    private mutating func skipValue() throws {
        guard index < bytes.count else { throw Failure() }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            try container(close: UInt8(ascii: "}")) { parser in
                guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else { throw Failure() }
                try parser.skipString()
                try parser.colon()
                try parser.skipValue()
            }
        case UInt8(ascii: "["): try container(close: UInt8(ascii: "]")) { try $0.skipValue() }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        // The number is converted as `value()` converts it: an exponent that overflows a double is refused there too.
        default: _ = try number()
        }
    }

    /// An object's or array's elements, each read by `element`, nested at most `maxDepth` deep. Always inlined:
    /// the closure then costs nothing on the path that parses every relayed stream frame.
    @inline(__always)
    private mutating func container(close: UInt8, element: (inout JSONParser) throws -> Void) throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw Failure() }
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == close {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            guard index < bytes.count else { throw Failure() }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == close { index += 1; return }
            throw Failure()
        }
    }

    private mutating func key() throws -> String {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Failure() }
        return try string()
    }

    private mutating func colon() throws {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Failure() }
        index += 1
        skipWhitespace()
    }

    private mutating func skipString() throws {
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return }
            if byte == UInt8(ascii: "\\") {
                guard index < bytes.count else { throw Failure() }
                let escape = bytes[index]
                index += 1
                if escape == UInt8(ascii: "u") {
                    _ = try hex4()
                } else if Self.unescaped(escape) == nil {
                    throw Failure()
                }
            } else if byte < 0x20 {
                throw Failure()
            }
        }
        throw Failure()
    }

    /// The byte a one-character escape (`\n`, `\"`, …) stands for.
    private static func unescaped(_ escape: UInt8) -> UInt8? {
        switch escape {
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        case UInt8(ascii: "/"): 0x2F
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func value() throws -> JSONValue {
        guard index < bytes.count else { throw Failure() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Failure() }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] { throw Failure() }
        index += count
    }

    private mutating func object() throws -> JSONValue {
        var members: [String: JSONValue] = [:]
        try container(close: UInt8(ascii: "}")) { parser in
            let key = try parser.key()
            try parser.colon()
            members[key] = try parser.value()
        }
        return .object(members)
    }

    private mutating func array() throws -> JSONValue {
        var items: [JSONValue] = []
        try container(close: UInt8(ascii: "]")) { items.append(try $0.value()) }
        return .array(items)
    }

    private mutating func string() throws -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw Failure() }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw Failure() }
                let escape = bytes[index]
                index += 1
                if escape == UInt8(ascii: "u") {
                    appendScalar(try unicodeEscape(), to: &out)
                } else if let byte = Self.unescaped(escape) {
                    out.append(byte)
                } else {
                    throw Failure()
                }
            default:
                if byte < 0x20 { throw Failure() }
                out.append(byte)
                index += 1
            }
        }
        throw Failure()
    }

    /// `\uXXXX`, combining a surrogate pair; a lone surrogate becomes U+FFFD.
    private mutating func unicodeEscape() throws -> UInt32 {
        let high = try hex4()
        if (0xD800...0xDBFF).contains(high), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
            let saved = index
            index += 2
            let low = try hex4()
            if (0xDC00...0xDFFF).contains(low) { return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00) }
            index = saved
        }
        return (0xD800...0xDFFF).contains(high) ? 0xFFFD : high
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw Failure() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw Failure()
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func appendScalar(_ value: UInt32, to out: inout [UInt8]) {
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private mutating func number() throws -> JSONValue {
        let start = index
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw Failure() }
        if bytes[index] == 0x30 {
            index += 1
        } else {
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw Failure() }
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { throw Failure() }
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text), double.isFinite else { throw Failure() }
        return .double(double)
    }
}
