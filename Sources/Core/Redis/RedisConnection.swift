import NIOCore
import NIOPosix

struct RedisRequest: Sendable {
    let bytes: ByteBuffer
    let promise: EventLoopPromise<RESPValue>
}

/// Pairs replies with requests in order (pipelining), and hands publish/subscribe pushes to `onPush`.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>()
    private let onPush: (@Sendable (String, String) -> Void)?

    init(onPush: (@Sendable (String, String) -> Void)?) {
        self.onPush = onPush
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        pending.append(request.promise)
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let onPush, let push = value.pubSubMessage {
            onPush(push.channel, push.payload)
            return
        }
        if !pending.isEmpty { pending.removeFirst().succeed(value) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed)
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while !pending.isEmpty { pending.removeFirst().fail(error) }
    }
}

/// Opening and talking to one Redis connection.
enum RedisConnection {
    static func connect(
        to location: RedisLocation,
        selectDatabase: Bool,
        clientName: String,
        onPush: (@Sendable (String, String) -> Void)? = nil
    ) async throws -> any Channel {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(3))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(HiredisReplyDecoder()),
                        RedisCommandHandler(onPush: onPush)
                    )
                }
            }
            .connect(host: location.host, port: location.port)
            .get()
        do {
            if let password = location.password {
                let auth = location.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try await send(auth, on: channel)
            }
            // Named so operators (and tests) can tell our connections apart in CLIENT LIST.
            _ = try await send(["CLIENT", "SETNAME", clientName], on: channel)
            if selectDatabase && location.database != 0 {
                _ = try await send(["SELECT", String(location.database)], on: channel)
            }
            return channel
        } catch {
            try? await channel.close()
            throw error
        }
    }

    static func send(_ arguments: [String], on channel: any Channel) async throws -> RESPValue {
        var buffer = channel.allocator.buffer(capacity: 64)
        try HiredisCommandEncoder.encode(arguments, into: &buffer)
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.writeAndFlush(RedisRequest(bytes: buffer, promise: promise)).cascadeFailure(to: promise)
        let reply = try await promise.futureResult.get()
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }
}
