import HTTP1Wire
import NIOCore

/// A response head read from its raw bytes (status line, fields, the empty line): the status, and what framing,
/// reuse and failure handling depend on, noted while the fields are read (`HTTP1FramingFields`). No other field is
/// kept: nothing downstream reads one, and building NIO's `HTTPHeaders` (a string per name and value, an array
/// grown field by field) was ten allocations per response (PERFORMANCE.md, session 16).
struct UpstreamResponseHead: Sendable, Equatable {
    var status: Int
    /// The `x` of `HTTP/1.x`.
    var minorVersion: Int
    /// `Retry-After`, as sent (read when the status says the upstream is busy).
    var retryAfter: String?
    var framing = HTTP1FramingFields()

    /// Whether the connection may carry another request after this response.
    var persistent: Bool {
        framing.persistent(minor: minorVersion)
    }

    typealias Failure = UpstreamResponseParser.Failure

    static func parse(_ raw: UnsafeRawBufferPointer) -> Result<UpstreamResponseHead, Failure> {
        var lines = HTTP1Syntax.Lines(raw)
        guard let statusLine = lines.next(), let (minor, status) = Self.statusLine(raw, statusLine) else {
            return .failure(.malformed("bad status line"))
        }
        var parsed = UpstreamResponseHead(status: status, minorVersion: minor)
        while let line = lines.next(), !line.isEmpty {
            do {
                let (nameRange, valueRange) = try HTTP1Syntax.field(raw, line)
                let name = UnsafeRawBufferPointer(rebasing: raw[nameRange])
                let value = UnsafeRawBufferPointer(rebasing: raw[valueRange])
                parsed.framing.note(name, value)
                if parsed.retryAfter == nil, HTTP1Syntax.equalsIgnoringCase(name, "retry-after") {
                    parsed.retryAfter = String(decoding: value, as: UTF8.self)
                }
            } catch {
                return .failure(.malformed(error.reason))
            }
        }
        return .success(parsed)
    }

    /// `HTTP/1.x SSS[ reason]`: the minor version and the status code.
    private static func statusLine(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) -> (Int, Int)? {
        let start = line.lowerBound
        guard line.count >= 12, raw[start..<start + 7].elementsEqual("HTTP/1.".utf8), (0x30...0x39).contains(raw[start + 7]),
            raw[start + 8] == 0x20, raw[start + 9..<start + 12].allSatisfy({ (0x30...0x39).contains($0) }),
            line.count == 12 || raw[start + 12] == 0x20
        else { return nil }
        let status = raw[start + 9..<start + 12].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (Int(raw[start + 7] - 0x30), status)
    }
}
