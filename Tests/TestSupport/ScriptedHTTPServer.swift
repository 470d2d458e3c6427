import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 server on loopback whose answer to each request follows a script keyed by the connection's number
/// and the request's number on it: for client tests that need keep-alive, dropped connections, stalls and large
/// bodies on the wire exactly (a Hummingbird fake hides the connection).
public final class ScriptedHTTPServer: Sendable {
    public enum Reply: Sendable {
        /// 200 with this JSON body, connection kept open.
        case json(String)
        /// The same after a delay.
        case delayedJSON(String, TimeAmount)
        /// Closes the connection without answering.
        case close
        /// Sends the head of a streamed 200 and then nothing.
        case headThenStall
        /// A streamed 200 of `chunks` chunks of `size` bytes, written as fast as the client reads them.
        case stream(chunks: Int, size: Int)
        /// A streamed 200 of `parts` small parts, one every `interval`.
        case trickle(parts: Int, every: TimeAmount)
    }

    public typealias Script = @Sendable (_ connection: Int, _ request: Int) -> Reply

    private struct Counters {
        var connections = 0
        var requests = 0
        var closed = 0
        var bytesWritten = 0
    }

    private let channel: any Channel
    private let counters: NIOLockedValueBox<Counters>
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Connections accepted so far.
    public var connections: Int { counters.withLockedValue { $0.connections } }
    /// Requests received so far.
    public var requests: Int { counters.withLockedValue { $0.requests } }
    /// Connections that have closed so far.
    public var closedConnections: Int { counters.withLockedValue { $0.closed } }
    /// Body bytes the socket accepted so far.
    public var bytesWritten: Int { counters.withLockedValue { $0.bytesWritten } }

    private init(channel: any Channel, port: Int, counters: NIOLockedValueBox<Counters>) {
        self.channel = channel
        self.port = port
        self.counters = counters
    }

    public static func start(_ script: @escaping Script) async throws -> ScriptedHTTPServer {
        let counters = NIOLockedValueBox(Counters())
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let number = counters.withLockedValue { counters in
                        defer { counters.connections += 1 }
                        return counters.connections
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(connection: number, script: script, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSetupError("the scripted server has no port") }
        return ScriptedHTTPServer(channel: channel, port: port, counters: counters)
    }

    public func stop() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let connection: Int
        let script: Script
        let counters: NIOLockedValueBox<Counters>
        var requests = 0
        /// Chunks still to send of a `.stream` reply, and their size.
        var streaming: (left: Int, size: Int)?

        init(connection: Int, script: @escaping Script, counters: NIOLockedValueBox<Counters>) {
            self.connection = connection
            self.script = script
            self.counters = counters
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let reply = script(connection, requests)
            requests += 1
            counters.withLockedValue { $0.requests += 1 }
            switch reply {
            case .json(let body):
                answer(body, context: context)
            case .delayedJSON(let body, let delay):
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: delay) { bound.value.0.answer(body, context: bound.value.1) }
            case .close:
                context.close(promise: nil)
            case .headThenStall:
                context.writeAndFlush(wrapOutboundOut(.head(Self.head(length: nil))), promise: nil)
            case .stream(let chunks, let size):
                context.write(wrapOutboundOut(.head(Self.head(length: chunks * size))), promise: nil)
                streaming = (chunks, size)
                pump(context: context)
            case .trickle(let parts, let interval):
                context.writeAndFlush(wrapOutboundOut(.head(Self.head(length: nil))), promise: nil)
                trickle(parts, every: interval, context: context)
            }
        }

        private func trickle(_ left: Int, every interval: TimeAmount, context: ChannelHandlerContext) {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: interval) {
                let (responder, context) = bound.value
                guard left > 0 else {
                    context.writeAndFlush(responder.wrapOutboundOut(.end(nil)), promise: nil)
                    return
                }
                context.writeAndFlush(responder.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "x")))), promise: nil)
                responder.trickle(left - 1, every: interval, context: context)
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            pump(context: context)
            context.fireChannelWritabilityChanged()
        }

        func channelInactive(context: ChannelHandlerContext) {
            counters.withLockedValue { $0.closed += 1 }
            context.fireChannelInactive()
        }

        private func answer(_ body: String, context: ChannelHandlerContext) {
            context.write(wrapOutboundOut(.head(Self.head(length: body.utf8.count))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        /// Writes chunks while the socket takes them; counts what it took.
        private func pump(context: ChannelHandlerContext) {
            while let (left, size) = streaming, context.channel.isWritable, context.channel.isActive {
                guard left > 0 else {
                    streaming = nil
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                    return
                }
                streaming = (left - 1, size)
                let written = context.eventLoop.makePromise(of: Void.self)
                let counters = self.counters
                written.futureResult.whenSuccess { counters.withLockedValue { $0.bytesWritten += size } }
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: UInt8(ascii: "x"), count: size)))), promise: written)
            }
        }

        private static func head(length: Int?) -> HTTPResponseHead {
            var headers = HTTPHeaders([("content-type", "application/json")])
            if let length { headers.add(name: "content-length", value: String(length)) } else { headers.add(name: "transfer-encoding", value: "chunked") }
            return HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
        }
    }
}
