import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1.1 child channel reduced to our own request handling (`HTTP1ConnectionHandler`), which
/// parses requests straight into HTTP types (`HTTP1RequestParser`, with Hummingbird's header limits), writes
/// responses as bytes, and does the graceful-shutdown part of Hummingbird's connection-state handler (it had no
/// idle timeout set). Routers, middleware and responses are Hummingbird's.
public struct HTTP1Server<Responder: HTTPResponder>: ServerChildChannel
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    /// The connection lives in its pipeline; Hummingbird's per-connection task has nothing left to do.
    public struct Connection: ServerChildChannelValue {
        public let channel: any Channel
    }

    /// Bodies up to this size are gathered before the route runs; larger ones reach it as a stream.
    public static var defaultGatherLimit: Int { 1024 * 1024 }

    private let responder: Responder
    private let logger: Logger
    private let gatherLimit: Int
    private let additionalChannelHandlers: @Sendable () -> [any RemovableChannelHandler]

    public init(
        responder: Responder, logger: Logger, gatherLimit: Int = Self.defaultGatherLimit,
        additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) {
        self.responder = responder
        self.logger = logger
        self.gatherLimit = gatherLimit
        self.additionalChannelHandlers = additionalChannelHandlers
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            // Hummingbird's own decoder limits, from its configuration rather than copied here.
            let decoder = HTTP1Channel.Configuration.DecoderConfiguration()
            let limits = HTTP1RequestParser.Limits(headBytes: decoder.maxHeaderListSize, fieldCount: decoder.maxHeaderFieldCount)
            let pipeline = channel.pipeline.syncOperations
            // No codec: requests are parsed and responses written as bytes by the connection handler.
            try pipeline.addHandlers(additionalChannelHandlers())
            try pipeline.addHandler(HTTP1ConnectionHandler(responder: responder, logger: self.logger, gatherLimit: gatherLimit, limits: limits))
            return Connection(channel: channel)
        }
    }

    public func handle(value: Connection, logger: Logger) async {}
}
