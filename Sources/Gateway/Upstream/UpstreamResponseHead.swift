import HTTP1Wire
import NIOCore
import NIOHTTP1

/// A response head read from its raw bytes (status line, fields, the empty line), with what framing and reuse
/// depend on noted while the fields are read (`HTTP1FramingFields`).
struct UpstreamResponseHead {
    var head: HTTPResponseHead
    var framing = HTTP1FramingFields()

    /// Whether the connection may carry another request after this response.
    var persistent: Bool {
        framing.persistent(minor: head.version.minor)
    }

    typealias Failure = UpstreamResponseParser.Failure

    static func parse(_ raw: UnsafeRawBufferPointer) -> Result<UpstreamResponseHead, Failure> {
        var lines = HTTP1Syntax.Lines(raw)
        guard let statusLine = lines.next(), let (version, status) = Self.statusLine(raw, statusLine) else {
            return .failure(.malformed("bad status line"))
        }
        var parsed = UpstreamResponseHead(head: HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status)))
        while let line = lines.next(), !line.isEmpty {
            do {
                let (nameRange, valueRange) = try HTTP1Syntax.field(raw, line)
                let name = UnsafeRawBufferPointer(rebasing: raw[nameRange])
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: raw[valueRange]), as: UTF8.self)
                parsed.framing.note(name, value)
                parsed.head.headers.add(name: String(decoding: name, as: UTF8.self), value: value)
            } catch {
                return .failure(.malformed(error.reason))
            }
        }
        return .success(parsed)
    }

    /// `HTTP/1.x SSS[ reason]`.
    private static func statusLine(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) -> (HTTPVersion, Int)? {
        let start = line.lowerBound
        guard line.count >= 12, raw[start..<start + 7].elementsEqual("HTTP/1.".utf8), (0x30...0x39).contains(raw[start + 7]),
            raw[start + 8] == 0x20, raw[start + 9..<start + 12].allSatisfy({ (0x30...0x39).contains($0) }),
            line.count == 12 || raw[start + 12] == 0x20
        else { return nil }
        let status = raw[start + 9..<start + 12].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (HTTPVersion(major: 1, minor: Int(raw[start + 7] - 0x30)), status)
    }
}
