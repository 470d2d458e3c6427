import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Writes a route's `Response` to its connection. The head waits for the first body part, and a body of known
/// length is flushed once at its end, so a complete response leaves in one `writev`; a body of unknown length (a
/// stream) is flushed part by part. Writes made off the connection's event loop go over in one hop per call.
/// When the connection has more queued than it can send, a write waits for that write to go out.
struct ChannelResponseWriter: ResponseBodyWriter {
    private let channel: any Channel
    /// Parts are handed to the connection's handler directly rather than written into the channel's pipeline,
    /// which boxed each part in `NIOAny`, looked up the pipeline's tail and cast the part back in the handler —
    /// three times per response (PERFORMANCE.md, session 16).
    private let handler: NIOLoopBound<HTTP1ConnectionHandler>
    private var head: HTTPResponse?
    private let flushEveryPart: Bool
    private var unflushed = 0

    /// Past this many unflushed bytes a known-length body is flushed anyway.
    private static let flushThreshold = 64 * 1024

    init(channel: any Channel, handler: NIOLoopBound<HTTP1ConnectionHandler>, head: HTTPResponse, contentLength: Int?) {
        self.channel = channel
        self.handler = handler
        self.head = head
        self.flushEveryPart = contentLength == nil
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        let head = self.head
        self.head = nil
        unflushed += buffer.readableBytes
        let flush = flushEveryPart || unflushed >= Self.flushThreshold
        if flush { unflushed = 0 }
        if channel.isWritable {
            send(head, .body(buffer), flush: flush, promise: nil)
        } else {
            // Backpressure: the connection's buffer is full; wait until this part has gone out (flushed with it).
            unflushed = 0
            let written = channel.eventLoop.makePromise(of: Void.self)
            send(head, .body(buffer), flush: true, promise: written)
            try await written.futureResult.get()
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        send(head, .end(trailingHeaders), flush: true, promise: nil)
    }

    private func send(_ head: HTTPResponse?, _ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?) {
        let handler = self.handler
        let loop = channel.eventLoop
        if loop.inEventLoop {
            handler.value.send(head, part, flush: flush, promise: promise)
        } else {
            loop.execute { handler.value.send(head, part, flush: flush, promise: promise) }
        }
    }
}
