import HTTP1Wire
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Reads the requests of one client connection (RFC 9112) inside the connection handler: no decoder handler in
/// the pipeline, no `NIOAny` per part, and heads built straight into HTTP types' `HTTPRequest` (NIO's decoder,
/// llhttp behind a `ByteToMessageHandler`, built NIO header strings first). Body bytes are handed on as they arrive,
/// as slices of the read buffer.
///
/// What is refused (400, then the connection closes), as RFC 9112 tells servers to or as request smuggling
/// defences do: a request line or field line that is not well formed (including obsolete line folding and a space
/// before the colon), a version other than HTTP/1.0 or 1.1, `Transfer-Encoding` together with `Content-Length`, a
/// transfer coding that does not end in `chunked` or one sent by an HTTP/1.0 client, `Content-Length` values that
/// are not digits or disagree, and heads past the limits. Empty lines before a request line are skipped.
struct HTTP1RequestParser {
    /// A request head and what the connection handler needs from it besides the request.
    struct Head {
        let request: HTTPRequest
        let isHead: Bool
        let isHTTP10: Bool
        let keepAlive: Bool
        /// `Content-Length`, when the body is sized (nil when chunked).
        let declaredLength: Int?
    }

    enum Part {
        case head(Head)
        case body(ByteBuffer)
        case end
    }

    struct Limits {
        /// All of a head's bytes: request line, fields, line breaks.
        var headBytes: Int
        var fieldCount: Int
    }

    private enum Stage {
        case head
        case body(HTTP1BodyReader)
        /// A request could not be read; nothing more is.
        case failed
    }

    private let limits: Limits
    private var stage = Stage.head
    private var pending = HTTP1PendingBytes()

    init(limits: Limits) {
        self.limits = limits
    }

    mutating func append(_ incoming: ByteBuffer) {
        if case .failed = stage { return }
        pending.append(incoming)
    }

    /// The next part the bytes so far complete, or nil until more arrive.
    mutating func next() throws(HTTP1Syntax.Malformed) -> Part? {
        var bytes = pending.take()
        defer { if !isFailed { pending.keep(bytes) } }
        do {
            switch stage {
            case .failed:
                return nil
            case .head:
                guard let head = try readHead(&bytes) else { return nil }
                stage = .body(HTTP1BodyReader(head.declaredLength.map { .length($0) } ?? .chunked))
                return .head(head)
            case .body(var reader):
                let event = try reader.next(&bytes)
                stage = reader.hasEnded ? .head : .body(reader)
                switch event {
                case .bytes(let part): return .body(part)
                case .end: return .end
                case nil: return nil
                }
            }
        } catch {
            stage = .failed
            throw error
        }
    }

    private var isFailed: Bool {
        if case .failed = stage { true } else { false }
    }

    /// A complete head, or nil when its end has not arrived (then nothing is read past leading empty lines).
    private func readHead(_ buffer: inout ByteBuffer) throws(HTTP1Syntax.Malformed) -> Head? {
        while let first = buffer.readableBytesView.first, first == UInt8(ascii: "\r") || first == UInt8(ascii: "\n") {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        guard buffer.readableBytes > 0, let head = try HTTP1Syntax.readHead(&buffer, limit: limits.headBytes) else { return nil }
        return try head.withUnsafeReadableBytes { raw in Result { () throws(HTTP1Syntax.Malformed) in try parse(raw) } }.get()
    }

    private func parse(_ raw: UnsafeRawBufferPointer) throws(HTTP1Syntax.Malformed) -> Head {
        var lines = HTTP1Syntax.Lines(raw)
        guard let requestLine = lines.next() else { throw HTTP1Syntax.Malformed("no request line") }
        let (methodRange, targetRange, minor) = try Self.requestLine(raw, requestLine)
        let method = String(decoding: UnsafeRawBufferPointer(rebasing: raw[methodRange]), as: UTF8.self)
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: raw[targetRange]), as: UTF8.self)

        var fields = HTTPFields()
        // One allocation for the fields instead of one per doubling.
        fields.reserveCapacity(raw.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) })
        var authority: String?
        var framing = HTTP1FramingFields()
        var count = 0
        while let line = lines.next(), !line.isEmpty {
            count += 1
            guard count <= limits.fieldCount else { throw HTTP1Syntax.Malformed("too many header fields") }
            let (nameRange, valueRange) = try HTTP1Syntax.field(raw, line)
            let name = UnsafeRawBufferPointer(rebasing: raw[nameRange])
            let valueBytes = UnsafeRawBufferPointer(rebasing: raw[valueRange])
            let value = String(decoding: valueBytes, as: UTF8.self)
            if authority == nil, HTTP1Syntax.equalsIgnoringCase(name, "host") {
                // The first Host is the authority, as swift-nio-extras converts it.
                authority = value
                continue
            }
            framing.note(name, valueBytes)
            guard let fieldName = HTTPField.Name(String(decoding: name, as: UTF8.self)) else { throw HTTP1Syntax.Malformed("bad header name") }
            fields.append(HTTPField(name: fieldName, value: value))
        }

        let declaredLength: Int?
        if framing.transferCoded {
            guard !framing.hasContentLength else { throw HTTP1Syntax.Malformed("both Transfer-Encoding and Content-Length") }
            guard minor == 1, framing.endsChunked else { throw HTTP1Syntax.Malformed("unsupported transfer coding") }
            declaredLength = nil
        } else {
            declaredLength = try framing.length() ?? 0
        }

        let request: HTTPRequest
        if target.utf8.first == UInt8(ascii: "/"), let requestMethod = HTTPRequest.Method(method) {
            request = HTTPRequest(method: requestMethod, scheme: "http", authority: authority, path: target, headerFields: fields)
        } else {
            request = try Self.otherForm(method: method, target: target, minor: minor, authority: authority, fields: fields)
        }
        return Head(
            request: request, isHead: method == "HEAD", isHTTP10: minor == 0, keepAlive: framing.persistent(minor: minor),
            declaredLength: declaredLength
        )
    }

    /// `method SP request-target SP HTTP/1.x`: the method a token, the target visible ASCII.
    private static func requestLine(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) throws(HTTP1Syntax.Malformed) -> (Range<Int>, Range<Int>, Int) {
        guard let firstSpace = raw[line].firstIndex(of: 0x20), firstSpace > line.lowerBound,
            raw[line.lowerBound..<firstSpace].allSatisfy(HTTP1Syntax.isTokenCharacter),
            line.upperBound - firstSpace > 9
        else { throw HTTP1Syntax.Malformed("bad request line") }
        let versionStart = line.upperBound - 8
        let target = firstSpace + 1..<versionStart - 1
        guard raw[versionStart - 1] == 0x20, !target.isEmpty, raw[target].allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
            raw[versionStart..<versionStart + 7].elementsEqual("HTTP/1.".utf8), raw[versionStart + 7] == 0x30 || raw[versionStart + 7] == 0x31
        else { throw HTTP1Syntax.Malformed("bad request line") }
        return (line.lowerBound..<firstSpace, target, Int(raw[versionStart + 7] - 0x30))
    }

    /// A target that is not a path (absolute-form, `*`, authority-form) and any method HTTP types needs checked:
    /// converted the way swift-nio-extras converts NIO's head, as before this parser existed.
    private static func otherForm(
        method: String, target: String, minor: Int, authority: String?, fields: HTTPFields
    ) throws(HTTP1Syntax.Malformed) -> HTTPRequest {
        var headers = HTTPHeaders()
        if let authority { headers.add(name: "host", value: authority) }
        for field in fields { headers.add(name: field.name.rawName, value: field.value) }
        let head = HTTPRequestHead(version: HTTPVersion(major: 1, minor: minor), method: HTTPMethod(rawValue: method), uri: target, headers: headers)
        guard let request = try? HTTPRequest(head, secure: false, splitCookie: false) else { throw HTTP1Syntax.Malformed("bad request target") }
        return request
    }
}
