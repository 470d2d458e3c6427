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
    private var head: HTTPResponse?
    private let flushEveryPart: Bool
    private var unflushed = 0

    /// Past this many unflushed bytes a known-length body is flushed anyway.
    private static let flushThreshold = 64 * 1024

    init(channel: any Channel, head: HTTPResponse, contentLength: Int?) {
        self.channel = channel
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
            send(head, .body(buffer), flush: flush)
        } else {
            // Backpressure: the connection's buffer is full; wait until this part has gone out (flushed with it).
            unflushed = 0
            if let head { channel.write(HTTPResponsePart.head(head), promise: nil) }
            try await channel.writeAndFlush(HTTPResponsePart.body(buffer)).get()
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
        send(head, .end(trailingHeaders), flush: true)
    }

    private func send(_ head: HTTPResponse?, _ part: HTTPResponsePart, flush: Bool) {
        let channel = self.channel
        let loop = channel.eventLoop
        if loop.inEventLoop {
            Self.send(channel, head, part, flush: flush)
        } else {
            loop.execute { Self.send(channel, head, part, flush: flush) }
        }
    }

    private static func send(_ channel: any Channel, _ head: HTTPResponse?, _ part: HTTPResponsePart, flush: Bool) {
        if let head { channel.write(HTTPResponsePart.head(head), promise: nil) }
        if flush { channel.writeAndFlush(part, promise: nil) } else { channel.write(part, promise: nil) }
    }
}
