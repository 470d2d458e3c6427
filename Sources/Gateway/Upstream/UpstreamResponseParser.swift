import HTTP1Wire
import NIOCore
import NIOHTTP1

/// Reads HTTP/1.1 responses from an upstream connection (RFC 9112), one per request the exchange sent, inside the
/// exchange itself: no decoder handler in the pipeline, no `NIOAny` per part, no parser callbacks building strings.
/// NIO's decoder (llhttp behind a `ByteToMessageHandler`) was about a twentieth of the event loops' time
/// (PERFORMANCE.md, session 13).
///
/// Framing, in the RFC's order: a response to HEAD, 1xx, 204 and 304 have no body (1xx other than 101 are interim
/// and skipped); `Transfer-Encoding` ending in `chunked` is chunked (any other transfer coding is read until the
/// close); else `Content-Length` (every value must agree); else until the connection closes. A response that is
/// not chunked or sized, has both a length and a transfer coding, or says `Connection: close` leaves the
/// connection unusable. Anything malformed is an error, after which the connection must be closed.
struct UpstreamResponseParser {
    enum Failure: Error, Equatable {
        case malformed(String)
        /// Bytes arrived while no request was waiting for an answer.
        case unsolicited
    }

    enum Part: Equatable {
        case head(UpstreamResponseHead)
        case body(ByteBuffer)
        case end
    }

    private enum Stage {
        /// No request is waiting; any byte is unsolicited.
        case idle
        /// A request was sent; its response's head has not arrived.
        case head(isHead: Bool)
        case body(HTTP1BodyReader)
    }

    /// A head larger than this is refused (NIO's default limit for all header lines together).
    static let maxHeadBytes = 80 * 1024

    private var stage = Stage.idle
    private var pending = HTTP1PendingBytes()
    /// Whether the connection can carry another request once the current response has ended.
    private(set) var reusable = false

    /// The exchange sent a request with this method; its response comes next.
    mutating func expectResponse(to method: HTTPMethod) {
        stage = .head(isHead: method == .HEAD)
        reusable = false
    }

    /// Adds bytes read from the connection; `next()` then returns the parts they complete.
    mutating func append(_ incoming: ByteBuffer) {
        pending.append(incoming)
    }

    /// The next complete part (body bytes as far as they have arrived), or nil until more bytes arrive. Parts are
    /// returned one at a time, so the exchange can act on each (and start the next request) between calls.
    mutating func next() throws(Failure) -> Part? {
        var bytes = pending.take()
        defer { pending.keep(bytes) }
        while true {
            switch stage {
            case .idle:
                if bytes.readableBytes > 0 { throw .unsolicited }
                return nil
            case .head(let isHead):
                guard bytes.readableBytes > 0, let parsed = try readHead(&bytes) else { return nil }
                let code = parsed.status
                if code == 101 { throw .malformed("unexpected 101 Switching Protocols") }
                if (100..<200).contains(code) { continue }  // interim: the real head follows
                let (framing, delimited) = try Self.framing(of: parsed, isHead: isHead)
                reusable = parsed.persistent && delimited
                stage = .body(HTTP1BodyReader(framing))
                return .head(parsed)
            case .body(var reader):
                let event: HTTP1BodyReader.Event?
                do {
                    event = try reader.next(&bytes)
                } catch {
                    throw .malformed(error.reason)
                }
                stage = reader.hasEnded ? .idle : .body(reader)
                switch event {
                case .bytes(let part): return .body(part)
                case .end: return .end
                case nil: return nil
                }
            }
        }
    }

    /// The connection reached its end of input. True when that ended a response read until the close (emit its
    /// end); false when it cut a response short or came between responses.
    mutating func inputEnded() -> Bool {
        guard case .body(var reader) = stage, reader.inputEnded() else { return false }
        stage = .idle
        return true
    }

    /// A complete head, or nil when its end has not arrived (then nothing is read).
    private func readHead(_ buffer: inout ByteBuffer) throws(Failure) -> UpstreamResponseHead? {
        let head: ByteBuffer?
        do {
            head = try HTTP1Syntax.readHead(&buffer, limit: Self.maxHeadBytes)
        } catch {
            throw .malformed("response " + error.reason)
        }
        return try head?.withUnsafeReadableBytes { UpstreamResponseHead.parse($0) }.get()
    }

    private static func framing(of parsed: UpstreamResponseHead, isHead: Bool) throws(Failure) -> (HTTP1BodyReader.Framing, delimited: Bool) {
        let code = parsed.status
        if isHead || code == 204 || code == 304 { return (.length(0), true) }
        let framing = parsed.framing
        if framing.transferCoded {
            // Chunked must be the last coding; anything else can only end with the connection. A length beside it
            // is ignored, and the connection not reused: the two disagreeing is how responses get split.
            return framing.endsChunked ? (.chunked, !framing.hasContentLength) : (.untilClose, false)
        }
        let length: Int?
        do {
            length = try framing.length()
        } catch {
            throw .malformed(error.reason)
        }
        guard let length else { return (.untilClose, false) }
        return (.length(length), true)
    }
}
