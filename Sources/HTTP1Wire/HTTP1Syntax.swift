import NIOCore

/// The pieces of HTTP/1.1 message syntax (RFC 9112) both of our parsers share: the request parser of the server
/// and the response parser of the upstream client. Lines end in CRLF or a bare LF (RFC 9112 §2.2 lets a recipient
/// accept the latter).
public enum HTTP1Syntax {
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String

        public init(_ reason: String) {
            self.reason = reason
        }
    }

    /// The index just past the empty line that ends a head (`\n\n` or `\n\r\n`), or nil when it has not arrived.
    static func headEnd(_ bytes: ByteBufferView) -> Int? {
        var index = bytes.startIndex
        while let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let next = newline + 1
            if next < bytes.endIndex, bytes[next] == UInt8(ascii: "\n") { return next + 1 }
            if next + 1 < bytes.endIndex, bytes[next] == UInt8(ascii: "\r"), bytes[next + 1] == UInt8(ascii: "\n") { return next + 2 }
            index = next
        }
        return nil
    }

    /// The bytes of a complete head (up to and including the empty line that ends it), or nil when its end has not
    /// arrived (then nothing is read). A head longer than `limit` is refused, before its end arrives if need be.
    public static func readHead(_ buffer: inout ByteBuffer, limit: Int) throws(Malformed) -> ByteBuffer? {
        guard let end = headEnd(buffer.readableBytesView) else {
            if buffer.readableBytes > limit { throw Malformed("head too large") }
            return nil
        }
        guard end - buffer.readerIndex <= limit else { throw Malformed("head too large") }
        return buffer.readSlice(length: end - buffer.readerIndex)!
    }

    /// The next line of `buffer` without its line break, or nil when no complete line has arrived (then nothing is
    /// read). A line longer than `limit` is refused before its end arrives.
    public static func readLine(_ buffer: inout ByteBuffer, limit: Int) throws(Malformed) -> ByteBuffer? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > limit { throw Malformed("line too long") }
            return nil
        }
        var line = buffer.readSlice(length: newline - buffer.readerIndex)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        return line
    }

    /// The lines of a complete head (as `headEnd` delimits it), as ranges of `raw` without their line breaks.
    public struct Lines {
        private let raw: UnsafeRawBufferPointer
        private var cursor = 0

        public init(_ raw: UnsafeRawBufferPointer) {
            self.raw = raw
        }

        public mutating func next() -> Range<Int>? {
            guard cursor < raw.count, let newline = raw[cursor...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            var end = newline
            if end > cursor, raw[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            defer { cursor = newline + 1 }
            return cursor..<end
        }
    }

    /// A field line split into name and value (without surrounding spaces and tabs). The name must be a token and
    /// directly followed by the colon; the value may not hold control characters. A line starting with whitespace
    /// (obsolete folding) has no valid name, so it is refused too, as RFC 9112 §5.2 allows.
    public static func field(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) throws(Malformed) -> (name: Range<Int>, value: Range<Int>) {
        guard let colon = raw[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound,
            raw[line.lowerBound..<colon].allSatisfy(isTokenCharacter)
        else { throw Malformed("bad header line") }
        var start = colon + 1
        var end = line.upperBound
        while start < end, raw[start] == 0x20 || raw[start] == 0x09 { start += 1 }
        while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
        guard raw[start..<end].allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }) else { throw Malformed("bad header value") }
        return (line.lowerBound..<colon, start..<end)
    }

    public static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// ASCII case-insensitive comparison with a lowercase literal. Inlinable: called from other modules for every
    /// field of every head, it must be specialised for the caller's byte collection (unspecialised, its generic
    /// dispatch cost more than the rest of both parsers together).
    @inlinable
    public static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        var letter = lowercase.utf8Start
        for byte in bytes {
            guard byte == letter.pointee || ((0x41...0x5A).contains(byte) && byte | 0x20 == letter.pointee) else { return false }
            letter += 1
        }
        return true
    }

    /// Calls `body` with each comma-separated element of a list field's value bytes, without surrounding spaces
    /// and tabs; empty elements skipped. Nothing is allocated.
    public static func forEachListElement(_ value: UnsafeRawBufferPointer, _ body: (Slice<UnsafeRawBufferPointer>) -> Void) {
        var rest = value[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
            var element = rest[rest.startIndex..<end]
            while let first = element.first, first == 0x20 || first == 0x09 { element = element.dropFirst() }
            while let last = element.last, last == 0x20 || last == 0x09 { element = element.dropLast() }
            if !element.isEmpty { body(element) }
            rest = end == rest.endIndex ? rest[end...] : rest[(end + 1)...]
        }
    }

    /// A `Content-Length` value: decimal digits only (at most 18, so it cannot overflow).
    public static func contentLength(_ value: UnsafeRawBufferPointer) -> Int? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var length = 0
        for byte in value {
            guard (0x30...0x39).contains(byte) else { return nil }
            length = length * 10 + Int(byte - 0x30)
        }
        return length
    }
}
