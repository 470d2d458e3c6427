import NIOCore

/// Caps the receive buffer of a client connection. NIO's default allocator grows a connection's buffer to 64 KB
/// after one large read (a long prompt) and keeps it while the connection is idle — a client waiting on a stream
/// reads nothing more, so 1,000 open streams with 48 KB prompts held ~98 MB of receive buffers. With this cap a
/// large body takes a few more reads and an idle connection keeps at most 16 KB. It sets the option when added and
/// then leaves the pipeline, so no read passes through it.
public final class ReceiveBufferLimit: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    public typealias InboundIn = NIOAny

    public static let maximum = 16 * 1024

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: Self.maximum)
        try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: allocator)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
