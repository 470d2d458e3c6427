import HTTPTypes
import NIOCore

/// A response as HTTP/1.1 bytes (RFC 9112), written by `HTTP1ConnectionHandler` straight from Hummingbird's
/// `HTTPResponse`: the framing rules of NIO's `HTTPResponseEncoder` without its detour through NIO's own head type
/// (two handlers and a header conversion per response, PERFORMANCE.md).
enum HTTP1ResponseWire {
    /// How a response's body travels.
    enum Framing: Equatable {
        /// No body bytes are sent (a HEAD answer, 1xx, 204, 304).
        case none
        /// `content-length` bytes.
        case fixed
        /// `transfer-encoding: chunked`.
        case chunked
        /// Until the connection closes (an HTTP/1.0 client and no length).
        case untilClose
    }

    /// What the request being answered asked for.
    struct Request {
        var isHead = false
        var isHTTP10 = false
    }

    /// Writes the status line and headers; returns how the body must be framed. `closing`: the connection closes
    /// after this response (said with `connection: close`).
    static func head(_ response: HTTPResponse, answering request: Request, closing: Bool, into buffer: inout ByteBuffer) -> Framing {
        let code = response.status.code
        let mayHaveBody = !(100..<200).contains(code) && code != 204 && code != 304
        var hasLength = false
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(code))
        buffer.writeStaticString(" ")
        buffer.writeString(response.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for field in response.headerFields {
            switch field.name {
            case .transferEncoding, .connection: continue
            case .contentLength:
                guard mayHaveBody else { continue }
                hasLength = true
            default: break
            }
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        let framing: Framing = !mayHaveBody ? .none : hasLength ? .fixed : request.isHTTP10 ? .untilClose : .chunked
        if framing == .chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        if closing || framing == .untilClose {
            buffer.writeStaticString("connection: close\r\n")
        } else if request.isHTTP10 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        return request.isHead ? .none : framing
    }

    /// The size line of a chunk of `size` bytes (`size` > 0: an empty chunk ends the body). The data and
    /// `chunkEnd` follow it as writes of their own: copying the data in with its framing cost ~20 MB more at peak
    /// with 1,000 streams starting together.
    static func chunkHeader(size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        let hex = String(size, radix: 16)
        var buffer = allocator.buffer(capacity: hex.utf8.count + 2)
        buffer.writeString(hex)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// What ends every chunk; one buffer shared by all of them.
    static let chunkEnd = ByteBuffer(string: "\r\n")

    /// The last chunk, with trailers if any.
    static func lastChunk(_ trailers: HTTPFields?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5)
        buffer.writeStaticString("0\r\n")
        for field in trailers ?? [:] {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// A 400 for a request that could not be parsed; the connection closes after it.
    static func badRequest(allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(staticString: "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
    }
}
