import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP server on loopback that accepts connections and closes each one as soon as a request arrives, without
/// answering: an upstream whose connection dies mid-request.
public final class DroppingServer: Sendable {
    private let channel: any Channel
    private let counter: NIOLockedValueBox<Int>
    public let baseURL: String
    /// Requests dropped so far.
    public var dropped: Int { counter.withLockedValue { $0 } }

    private init(channel: any Channel, port: Int, counter: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.counter = counter
        self.baseURL = "http://127.0.0.1:\(port)"
    }

    public static func start() async throws -> DroppingServer {
        let counter = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(CloseOnRead(counter: counter)) } }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSetupError("the dropping server has no port") }
        return DroppingServer(channel: channel, port: port, counter: counter)
    }

    public func stop() async {
        try? await channel.close()
    }

    private final class CloseOnRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let counter: NIOLockedValueBox<Int>

        init(counter: NIOLockedValueBox<Int>) {
            self.counter = counter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            counter.withLockedValue { $0 += 1 }
            context.close(promise: nil)
        }
    }
}
