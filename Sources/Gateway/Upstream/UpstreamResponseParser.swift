import NIOCore
import NIOHTTP1

/// Reads HTTP/1.1 responses from an upstream connection (RFC 9112), one per request the exchange sent, inside the
/// exchange itself: no decoder handler in the pipeline, no `NIOAny` per part, no parser callbacks building strings
/// for headers nobody reads twice. NIO's decoder (llhttp behind a `ByteToMessageHandler`) was about a twentieth of
/// the event loops' time (PERFORMANCE.md, session 13).
///
/// Body bytes are handed on as they arrive (slices of the read buffer, no copies), so a stream is relayed chunk by
/// chunk. Framing, in the RFC's order: a response to HEAD, 1xx, 204 and 304 have no body (1xx other than 101 are
/// interim and skipped); `Transfer-Encoding` ending in `chunked` is chunked (any other transfer coding is read
/// until the close); else `Content-Length` (every value must agree); else until the connection closes. A
/// response that is not chunked or sized, has both a length and a transfer coding, or says `Connection: close`
/// leaves the connection unusable. Lines may end
/// in CRLF or a bare LF. Anything else malformed is an error, after which the connection must be closed.
struct UpstreamResponseParser {
    enum Failure: Error, Equatable {
        case malformed(String)
        /// Bytes arrived while no request was waiting for an answer.
        case unsolicited
    }

    private enum Stage {
        /// No request is waiting; any byte is unsolicited.
        case idle
        /// A request was sent; its response's head has not arrived.
        case head(isHead: Bool)
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line break after a chunk's data.
        case chunkEnd
        case trailers
        case untilClose
    }

    /// A head larger than this is refused (NIO's default limit for all header lines together).
    static let maxHeadBytes = 80 * 1024
    /// Chunk-size lines (with extensions) and trailer lines longer than this are refused.
    static let maxLineBytes = 8 * 1024

    private var stage = Stage.idle
    /// Bytes read and not yet parsed (an incomplete head or line waits here for the rest).
    private var buffer: ByteBuffer?
    /// Whether the connection can carry another request once the current response has ended.
    private(set) var reusable = false

    /// The exchange sent a request with this method; its response comes next.
    mutating func expectResponse(to method: HTTPMethod) {
        stage = .head(isHead: method == .HEAD)
        reusable = false
    }

    /// Adds bytes read from the connection; `next()` then returns the parts they complete.
    mutating func append(_ incoming: ByteBuffer) {
        if var kept = buffer {
            buffer = nil  // one reference, so the write below does not copy what is kept
            kept.writeImmutableBuffer(incoming)
            buffer = kept
        } else {
            buffer = incoming
        }
    }

    /// The next complete part (body bytes as far as they have arrived), or nil until more bytes arrive. Parts are
    /// returned one at a time, so the exchange can act on each (and start the next request) between calls.
    mutating func next() throws(Failure) -> HTTPClientResponsePart? {
        // A sized body whose last byte (or a bodiless response whose head) was returned ends without another byte.
        if case .fixed(0) = stage { return finish() }
        guard var bytes = buffer else { return nil }
        buffer = nil
        defer { if bytes.readableBytes > 0 { buffer = bytes } }
        while bytes.readableBytes > 0 {
            switch stage {
            case .idle:
                throw .unsolicited
            case .head(let isHead):
                guard let head = try readHead(&bytes) else { return nil }
                let code = head.status.code
                if code == 101 { throw .malformed("unexpected 101 Switching Protocols") }
                if (100..<200).contains(code) { continue }  // interim: the real head follows
                let framing = try Self.framing(of: head, isHead: isHead)
                reusable = head.isKeepAlive && framing.delimited
                stage = framing.stage
                return .head(head)
            case .fixed(let remaining):
                let part = bytes.readSlice(length: min(remaining, bytes.readableBytes))!
                stage = .fixed(remaining: remaining - part.readableBytes)
                return .body(part)
            case .chunkSize:
                guard let line = try readLine(&bytes) else { return nil }
                let size = try Self.chunkSize(line)
                stage = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let part = bytes.readSlice(length: min(remaining, bytes.readableBytes))!
                stage = remaining == part.readableBytes ? .chunkEnd : .chunkData(remaining: remaining - part.readableBytes)
                return .body(part)
            case .chunkEnd:
                guard let line = try readLine(&bytes) else { return nil }
                guard line.readableBytes == 0 else { throw .malformed("chunk data longer than its size") }
                stage = .chunkSize
            case .trailers:
                // Trailer fields are read and dropped: nothing downstream uses them.
                guard let line = try readLine(&bytes) else { return nil }
                if line.readableBytes == 0 { return finish() }
            case .untilClose:
                return .body(bytes.readSlice(length: bytes.readableBytes)!)
            }
        }
        return nil
    }

    /// The connection reached its end of input. True when that ended a response read until the close (emit its
    /// end); false when it cut a response short or came between responses.
    mutating func inputEnded() -> Bool {
        guard case .untilClose = stage else { return false }
        stage = .idle
        return true
    }

    private mutating func finish() -> HTTPClientResponsePart {
        stage = .idle
        return .end(nil)
    }

    // MARK: Lines and heads

    /// The next line without its line break, or nil when the buffer holds no complete line (then nothing is read).
    private func readLine(_ buffer: inout ByteBuffer) throws(Failure) -> ByteBuffer? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineBytes { throw .malformed("line too long") }
            return nil
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        return line
    }

    /// A complete head, or nil when its end has not arrived (then nothing is read).
    private func readHead(_ buffer: inout ByteBuffer) throws(Failure) -> HTTPResponseHead? {
        guard let end = Self.headEnd(buffer.readableBytesView) else {
            if buffer.readableBytes > Self.maxHeadBytes { throw .malformed("response head too large") }
            return nil
        }
        guard end - buffer.readerIndex <= Self.maxHeadBytes else { throw .malformed("response head too large") }
        var head = buffer.readSlice(length: end - buffer.readerIndex)!
        guard let statusLine = try readLine(&head) else { throw .malformed("no status line") }
        let (version, status) = try Self.statusLine(statusLine)
        var headers = HTTPHeaders()
        while let line = try readLine(&head), line.readableBytes > 0 {
            let (name, value) = try Self.field(line)
            headers.add(name: name, value: value)
        }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: headers)
    }

    /// The index just past the empty line that ends a head (`\n\n` or `\n\r\n`).
    private static func headEnd(_ bytes: ByteBufferView) -> Int? {
        var index = bytes.startIndex
        while let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let next = newline + 1
            if next < bytes.endIndex, bytes[next] == UInt8(ascii: "\n") { return next + 1 }
            if next + 1 < bytes.endIndex, bytes[next] == UInt8(ascii: "\r"), bytes[next + 1] == UInt8(ascii: "\n") { return next + 2 }
            index = next
        }
        return nil
    }

    /// `HTTP/1.x SSS [reason]`.
    private static func statusLine(_ line: ByteBuffer) throws(Failure) -> (HTTPVersion, Int) {
        let bytes = Array(line.readableBytesView.prefix(13))
        guard bytes.count >= 12, bytes[0..<7].elementsEqual("HTTP/1.".utf8), (0x30...0x39).contains(bytes[7]), bytes[8] == 0x20,
            bytes[9...11].allSatisfy({ (0x30...0x39).contains($0) }), bytes.count == 12 || bytes[12] == 0x20
        else { throw .malformed("bad status line") }
        let status = bytes[9...11].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (HTTPVersion(major: 1, minor: Int(bytes[7] - 0x30)), status)
    }

    /// `name: value`; the name a token, the value without surrounding spaces or tabs. A line starting with
    /// whitespace (obsolete folding) or a space before the colon is refused, as RFC 9112 tells clients to.
    private static func field(_ line: ByteBuffer) throws(Failure) -> (String, String) {
        let bytes = line.readableBytesView
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > bytes.startIndex,
            bytes[bytes.startIndex..<colon].allSatisfy(isTokenCharacter)
        else { throw .malformed("bad header line") }
        var start = colon + 1
        var end = bytes.endIndex
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard bytes[start..<end].allSatisfy({ $0 >= 0x20 || $0 == 0x09 }), !bytes[start..<end].contains(0x7F) else {
            throw .malformed("bad header value")
        }
        return (String(decoding: bytes[bytes.startIndex..<colon], as: UTF8.self), String(decoding: bytes[start..<end], as: UTF8.self))
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    // MARK: Framing

    private static func framing(of head: HTTPResponseHead, isHead: Bool) throws(Failure) -> (stage: Stage, delimited: Bool) {
        let code = head.status.code
        if isHead || code == 204 || code == 304 { return (.fixed(remaining: 0), true) }
        let codings = head.headers[canonicalForm: "transfer-encoding"]
        if !codings.isEmpty {
            // Chunked must be the last coding; anything else can only end with the connection. A length beside it
            // is ignored, and the connection not reused: the two disagreeing is how responses get split.
            let chunked = codings.last?.lowercased() == "chunked"
            return chunked ? (.chunkSize, !head.headers.contains(name: "content-length")) : (.untilClose, false)
        }
        let lengths = head.headers[canonicalForm: "content-length"]
        guard let first = lengths.first else { return (.untilClose, false) }
        guard first.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let length = Int(first), lengths.allSatisfy({ $0 == first }) else {
            throw .malformed("bad content-length")
        }
        return (.fixed(remaining: length), true)
    }

    /// A chunk-size line: hex digits, then optional whitespace and `;`-separated extensions (ignored).
    private static func chunkSize(_ line: ByteBuffer) throws(Failure) -> Int {
        var size = 0
        var digits = 0
        for byte in line.readableBytesView {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw .malformed("bad chunk size") }
                return size
            default:
                throw .malformed("bad chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw .malformed("chunk too large") }
            size = size * 16 + value
        }
        guard digits > 0 else { throw .malformed("bad chunk size") }
        return size
    }
}
