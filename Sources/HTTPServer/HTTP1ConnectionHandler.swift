import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Serves one HTTP/1.1 connection from its channel pipeline: requests are parsed here from the connection's bytes
/// (`HTTP1RequestParser`), a request's body is gathered in the handler (up to
/// `gatherLimit`, streamed to the route beyond it), the route runs in one task per request, and the response is
/// written straight to the channel as bytes (`HTTP1ResponseWire`). Hummingbird's own connection handling runs a
/// task per connection reading through async sequences, which costs several task switches and event-loop ticks
/// per request; its HTTP-types codec and connection-state handler cost two more handlers per part (PERFORMANCE.md).
///
/// Requests on a connection are answered in order: parts of a pipelined request that arrive while one is in
/// progress wait in `queued`, and reading stops until they are taken.
///
/// Not generic over a responder (it takes a function): types nested in a generic class are generic too, and each
/// use of them looked up their metadata at run time (PERFORMANCE.md, session 17).
final class HTTP1ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    /// Responses arrive through `send` (from `ChannelResponseWriter`), not the pipeline; anything written into the
    /// pipeline passes through as bytes.
    typealias OutboundIn = IOData
    private typealias Part = HTTP1RequestParser.Part
    typealias OutboundOut = IOData

    private enum Reading {
        /// Waiting for the next request's head.
        case head
        /// Body arriving into `gathered`; the route has not started.
        case gathering(HTTPRequest)
        /// The route has started and takes the body's parts as they arrive.
        case streaming(StreamedRequestBody)
        /// The response ended before the body did: the rest is read and dropped.
        case discarding
        /// The whole request is read; its response has not ended.
        case read
    }

    private let respond: HTTP1Responder
    private let logger: Logger
    private let gatherLimit: Int
    private var reading = Reading.head
    private var gathered: ByteBuffer?
    /// Set while the handler is in a pipeline; calls from tasks hop to the loop and use it there.
    private var context: ChannelHandlerContext?
    private var parser: HTTP1RequestParser
    private var queued = CircularBuffer<Part>()
    /// Set by the client (`Connection: close`, HTTP/1.0 without keep-alive), by a response whose end only the
    /// close can mark, or by a graceful shutdown.
    private var closeAfterResponse = false
    /// What the request being answered asked for, and how its response's body is framed.
    private var answering = HTTP1ResponseWire.Request()
    private var framing = HTTP1ResponseWire.Framing.none
    private var started = 0
    private var ended = 0
    private var task: Task<Void, Never>?
    private var readHeld = false
    private var bodyBackpressure = false

    init(respond: @escaping HTTP1Responder, logger: Logger, gatherLimit: Int, limits: HTTP1RequestParser.Limits) {
        self.respond = respond
        self.logger = logger
        self.gatherLimit = gatherLimit
        self.parser = HTTP1RequestParser(limits: limits)
    }

    private var responding: Bool { ended < started }

    private var requestRead: Bool {
        if case .read = reading { return true }
        return false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// The connection closed (removal happens for every handler when the channel closes).
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        task?.cancel()
        task = nil
        if case .streaming(let stream) = reading { stream.source.finish(ChannelError.ioOnClosedChannel) }
        reading = .discarding
        queued.removeAll()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data))
        do {
            while self.context != nil, let part = try parser.next() {
                if requestRead || !queued.isEmpty {
                    queued.append(part)
                } else {
                    process(part, context: context)
                }
            }
        } catch {
            // A request that cannot be read: 400 unless a response is under way; either way the connection closes.
            if responding {
                context.close(promise: nil)
            } else {
                refuseUnparsable(context: context)
            }
        }
    }

    private func process(_ part: Part, context: ChannelHandlerContext) {
        switch (reading, part) {
        case (.head, .head(let head)):
            answering = .init(isHead: head.isHead, isHTTP10: head.isHTTP10)
            if !head.keepAlive { closeAfterResponse = true }
            if let declared = head.declaredLength, declared > gatherLimit {
                startStreaming(head.request, first: nil, context: context)
            } else {
                reading = .gathering(head.request)
            }
        case (.gathering(let head), .body(let part)):
            if gathered == nil { gathered = part } else { gathered!.writeImmutableBuffer(part) }
            if gathered!.readableBytes > gatherLimit {
                let first = gathered
                gathered = nil
                startStreaming(head, first: first, context: context)
            }
        case (.gathering(let head), .end):
            let body = gathered ?? ByteBuffer()
            gathered = nil
            reading = .read
            start(head, body: RequestBody(buffer: body), context: context)
        case (.streaming(let stream), .body(let part)):
            if !stream.yield(part) { bodyBackpressure = true }
        case (.streaming(let stream), .end):
            stream.source.finish()
            reading = .read
        case (.discarding, .body):
            break
        case (.discarding, .end):
            reading = .head
        case (.read, _):
            queued.append(part)
        case (.head, .body), (.head, .end), (.gathering, .head), (.streaming, .head), (.discarding, .head):
            // The parser never produces these; a connection that somehow does is closed.
            context.close(promise: nil)
        }
    }

    private func startStreaming(_ head: HTTPRequest, first: ByteBuffer?, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let stream = StreamedRequestBody(resume: {
            loop.execute { handler.value.bodyDemand() }
        })
        if let first, !stream.yield(first) { bodyBackpressure = true }
        reading = .streaming(stream)
        start(head, body: stream.body, context: context)
    }

    private func bodyDemand() {
        bodyBackpressure = false
        if let context { releaseHeldRead(context: context) }
    }

    /// Runs the route for one request in a task of its own, then writes its response.
    private func start(_ head: HTTPRequest, body: RequestBody, context: ChannelHandlerContext) {
        started += 1
        let number = started
        let channel = context.channel
        let respond = self.respond
        let logger = self.logger
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        task = Task {
            var response: Response
            do {
                response = try await respond(head, body, channel)
            } catch {
                logger.debug("unhandled error from the responder", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = HTTPDateCache.now
            do {
                try await response.body.write(ChannelResponseWriter(channel: channel, handler: handler, head: response.head, contentLength: response.body.contentLength))
            } catch {
                logger.trace("response not completely written", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            }
            let loop = channel.eventLoop
            if loop.inEventLoop {
                handler.value.finished(number)
            } else {
                loop.execute { handler.value.finished(number) }
            }
        }
    }

    /// A request's task ended. A response that did not reach its end cannot be completed: close.
    private func finished(_ number: Int) {
        if number == started { task = nil }
        if ended < number { context?.close(promise: nil) }
    }

    // MARK: Outbound

    /// A head and a small sized body leave in one buffer: one write, one `iovec`.
    private static var coalescedBodyLimit: Int { 8 * 1024 }

    /// One part of the current response (and its head, when not yet written), from the request's task through
    /// `ChannelResponseWriter`, on the loop.
    func send(_ head: HTTPResponse?, _ part: HTTPResponsePart, flush: Bool, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if let head {
            var small: ByteBuffer?
            if case .body(let body) = part, body.readableBytes <= Self.coalescedBodyLimit { small = body }
            var buffer = context.channel.allocator.buffer(capacity: 256 + (small?.readableBytes ?? 0))
            writeHead(head, into: &buffer)
            if let body = small, framing == .fixed || framing == .untilClose {
                buffer.writeImmutableBuffer(body)
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
            } else {
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
                write(part, context: context, promise: promise)
            }
        } else {
            write(part, context: context, promise: promise)
        }
        if flush { context.flush() }
    }

    private func writeHead(_ response: HTTPResponse, into buffer: inout ByteBuffer) {
        framing = HTTP1ResponseWire.head(response, answering: answering, closing: closeAfterResponse, into: &buffer)
        if framing == .untilClose { closeAfterResponse = true }
    }

    private func write(_ part: HTTPResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(let response):
            var buffer = context.channel.allocator.buffer(capacity: 256)
            writeHead(response, into: &buffer)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let part):
            switch framing {
            case .none:
                promise?.succeed(())
            case .fixed, .untilClose:
                context.write(wrapOutboundOut(.byteBuffer(part)), promise: promise)
            case .chunked:
                // An empty chunk would end the body.
                guard part.readableBytes > 0 else {
                    promise?.succeed(())
                    return
                }
                let header = HTTP1ResponseWire.chunkHeader(size: part.readableBytes, allocator: context.channel.allocator)
                context.write(wrapOutboundOut(.byteBuffer(header)), promise: nil)
                context.write(wrapOutboundOut(.byteBuffer(part)), promise: nil)
                context.write(wrapOutboundOut(.byteBuffer(HTTP1ResponseWire.chunkEnd)), promise: promise)
            }
        case .end(let trailers):
            if framing == .chunked {
                context.write(wrapOutboundOut(.byteBuffer(HTTP1ResponseWire.lastChunk(trailers, allocator: context.channel.allocator))), promise: promise)
            } else if let promise {
                context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise)
            }
            framing = .none
            responseEnded(context: context)
        }
    }

    private func responseEnded(context: ChannelHandlerContext) {
        ended += 1
        if closeAfterResponse {
            context.flush()
            context.close(promise: nil)
            return
        }
        switch reading {
        case .read:
            reading = .head
            while !queued.isEmpty, !requestRead {
                process(queued.removeFirst(), context: context)
            }
        case .streaming(let stream):
            stream.source.finish(RequestBodyAbandoned())
            reading = .discarding
            bodyBackpressure = false
        case .head, .gathering, .discarding:
            break
        }
        releaseHeldRead(context: context)
    }

    /// Reading stops while the route has not taken a streamed body's parts, or while a pipelined request waits.
    func read(context: ChannelHandlerContext) {
        if bodyBackpressure || !queued.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func releaseHeldRead(context: ChannelHandlerContext) {
        guard readHeld, !bodyBackpressure, queued.isEmpty else { return }
        readHeld = false
        context.read()
    }

    // MARK: Connection events

    /// A client that closes its side has gone (no HTTP client half-closes to wait for a response): like nginx, the
    /// request in progress is abandoned — its task is cancelled, which cancels the upstream call.
    ///
    /// Graceful shutdown (`ChannelShouldQuiesceEvent`) closes an idle connection now and a busy one after its
    /// response has ended.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        } else if event is ChannelShouldQuiesceEvent {
            if case .head = reading, !responding, queued.isEmpty {
                context.close(promise: nil)
            } else {
                closeAfterResponse = true
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// A request that cannot be read (malformed, or a head HTTP types refuse): 400 and close, unless a response is
    /// already under way (then only the close).
    private func refuseUnparsable(context: ChannelHandlerContext) {
        if !responding {
            logger.debug("unparsable HTTP request, closing connection")
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(HTTP1ResponseWire.badRequest(allocator: context.channel.allocator))), promise: nil)
        }
        reading = .discarding
        context.close(promise: nil)
    }
}
