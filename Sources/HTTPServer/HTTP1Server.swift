import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// What answers a request: its parsed head, its body (gathered or streaming) and its connection's channel, in the
/// request's own task. Errors thrown become a bare 500.
public typealias HTTP1Responder = @Sendable (HTTPRequest, RequestBody, any Channel) async throws -> Response

/// Hummingbird's HTTP/1.1 child channel reduced to our own request handling (`HTTP1ConnectionHandler`), which
/// parses requests straight into HTTP types (`HTTP1RequestParser`, with Hummingbird's header limits), writes
/// responses as bytes, and does the graceful-shutdown part of Hummingbird's connection-state handler (it had no
/// idle timeout set). Requests go to a Hummingbird responder (its router and middleware), or to a function that
/// chooses per request whether to build Hummingbird's `Request` and context at all (`init(respond:)`).
public struct HTTP1Server: ServerChildChannel {
    /// The connection lives in its pipeline; Hummingbird's per-connection task has nothing left to do.
    public struct Connection: ServerChildChannelValue {
        public let channel: any Channel
    }

    /// Bodies up to this size are gathered before the route runs; larger ones reach it as a stream.
    public static var defaultGatherLimit: Int { 1024 * 1024 }

    private let respond: HTTP1Responder
    private let logger: Logger
    private let gatherLimit: Int
    private let additionalChannelHandlers: @Sendable () -> [any RemovableChannelHandler]

    public init(
        respond: @escaping HTTP1Responder, logger: Logger, gatherLimit: Int = Self.defaultGatherLimit,
        additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) {
        self.respond = respond
        self.logger = logger
        self.gatherLimit = gatherLimit
        self.additionalChannelHandlers = additionalChannelHandlers
    }

    /// Every request through `responder`, with a `Request` and a context made for it.
    public init<Responder: HTTPResponder>(
        responder: Responder, logger: Logger, gatherLimit: Int = Self.defaultGatherLimit,
        additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        self.init(
            respond: Self.respond(with: responder, logger: logger), logger: logger, gatherLimit: gatherLimit,
            additionalChannelHandlers: additionalChannelHandlers
        )
    }

    /// Answers with a Hummingbird responder: the request and its context as Hummingbird's own server makes them.
    public static func respond<Responder: HTTPResponder>(with responder: Responder, logger: Logger) -> HTTP1Responder
    where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        { head, body, channel in
            try await responder.respond(to: Request(head: head, body: body), context: Responder.Context(source: .init(channel: channel, logger: logger)))
        }
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            // Hummingbird's own decoder limits, from its configuration rather than copied here.
            let decoder = HTTP1Channel.Configuration.DecoderConfiguration()
            let limits = HTTP1RequestParser.Limits(headBytes: decoder.maxHeaderListSize, fieldCount: decoder.maxHeaderFieldCount)
            let pipeline = channel.pipeline.syncOperations
            // No codec: requests are parsed and responses written as bytes by the connection handler.
            try pipeline.addHandlers(additionalChannelHandlers())
            try pipeline.addHandler(HTTP1ConnectionHandler(respond: respond, logger: self.logger, gatherLimit: gatherLimit, limits: limits))
            return Connection(channel: channel)
        }
    }

    public func handle(value: Connection, logger: Logger) async {}
}
