import NIOCore
import NIOHTTP1

/// An upstream request's head as the bytes that go on the wire, built once per call in the caller's task. The
/// exchange writes it and the body as two buffers with one flush, where NIO's request encoder took three request
/// parts through the pipeline (and the response decoder's write observer) on every call.
struct UpstreamRequestWire: Sendable {
    let method: HTTPMethod
    let head: ByteBuffer

    /// `headers` must already hold `host` and `content-length` and have passed `PlainHTTP1Client.areValid`.
    init(method: HTTPMethod, path: String, headers: HTTPHeaders) {
        self.method = method
        var head = ByteBuffer()
        head.reserveCapacity(64 + path.utf8.count + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
        head.writeString(method.rawValue)
        head.writeStaticString(" ")
        head.writeString(path)
        head.writeStaticString(" HTTP/1.1\r\n")
        for (name, value) in headers {
            head.writeString(name)
            head.writeStaticString(": ")
            head.writeString(value)
            head.writeStaticString("\r\n")
        }
        head.writeStaticString("\r\n")
        self.head = head
    }
}
