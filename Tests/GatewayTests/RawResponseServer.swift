import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A loopback server that answers each request with bytes from a script, exactly as written (framings and
/// malformations a real HTTP server library would not produce), and closes the connection when told to.
final class RawResponseServer: Sendable {
    struct Reply: Sendable {
        let bytes: String
        let thenClose: Bool
    }

    private let channel: any Channel
    private let accepted: NIOLockedValueBox<Int>
    var port: Int { channel.localAddress!.port! }
    var connections: Int { accepted.withLockedValue { $0 } }

    private init(channel: any Channel, accepted: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.accepted = accepted
    }

    /// `script` gets the request's number across all connections.
    static func start(_ script: @escaping @Sendable (Int) -> Reply) async throws -> RawResponseServer {
        let accepted = NIOLockedValueBox(0)
        let requests = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder(script: script, requests: requests))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawResponseServer(channel: channel, accepted: accepted)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let script: @Sendable (Int) -> Reply
        let requests: NIOLockedValueBox<Int>
        var received = ByteBuffer()

        init(script: @escaping @Sendable (Int) -> Reply, requests: NIOLockedValueBox<Int>) {
            self.script = script
            self.requests = requests
        }

        /// Answers once a whole request (head and `content-length` bytes of body) has arrived.
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var part = unwrapInboundIn(data)
            received.writeBuffer(&part)
            let text = String(buffer: received)
            guard let headEnd = text.range(of: "\r\n\r\n") else { return }
            let head = text[..<headEnd.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let total = text[..<headEnd.upperBound].utf8.count + length
            guard received.readableBytes >= total else { return }
            received.moveReaderIndex(forwardBy: total)
            received.discardReadBytes()
            let number = requests.withLockedValue { count in
                defer { count += 1 }
                return count
            }
            let reply = script(number)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply.bytes)), promise: nil)
            if reply.thenClose { context.close(promise: nil) }
        }
    }
}
