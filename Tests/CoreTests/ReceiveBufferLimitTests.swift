import Core
import NIOCore
import NIOPosix
import Testing

/// `ReceiveBufferLimit` on a real accepted connection: the cap is set, and the handler is no longer in the pipeline
/// (every read would otherwise pass through it).
@Suite struct ReceiveBufferLimitTests {
    @Test func capsTheReceiveBufferAndLeavesThePipeline() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let accepted = group.next().makePromise(of: (any Channel).self)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReceiveBufferLimit())
                    accepted.succeed(channel)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await ClientBootstrap(group: group).connect(to: try #require(server.localAddress)).get()
        let child = try await accepted.futureResult.get()

        let allocator = try await child.getOption(ChannelOptions.recvAllocator).get()
        let adaptive = try #require(allocator as? AdaptiveRecvByteBufferAllocator)
        #expect(adaptive.maximum == ReceiveBufferLimit.maximum)
        let remaining = try? await child.pipeline.handler(type: ReceiveBufferLimit.self).get()
        #expect(remaining == nil)

        try await client.close()
        try await server.close()
    }
}
