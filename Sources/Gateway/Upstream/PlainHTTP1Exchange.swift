import NIOCore
import NIOHTTP1

/// Why a plain HTTP/1.1 upstream call failed (`UpstreamFailure.classify` maps these).
enum PlainHTTP1Error: Error, Sendable, Equatable {
    case connectTimeout
    case firstByteTimeout
    case readTimeout
    /// The connection closed before a response head: `reused` when it had served an earlier request (then the
    /// server most likely closed it while idle and never read this one, so one retry on a new connection is safe).
    case closedBeforeResponse(reused: Bool)
    case closedMidResponse
    case cancelled
}

typealias PlainHTTP1Body = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, PlainHTTP1Exchange.Demand
>

struct PlainHTTP1Response: Sendable {
    let head: HTTPResponseHead
    let body: PlainHTTP1Body
}

/// The last handler of a pooled keep-alive connection: one request at a time, the whole request written with
/// one flush (one `writev`: head and body reach the upstream together), the response head handed to the caller
/// and the body streamed with backpressure (reads stop while the consumer's buffer is full). A response that
/// ends cleanly on a keep-alive connection returns it to its pool; anything else closes it.
final class PlainHTTP1Exchange: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart
    private typealias Source = PlainHTTP1Body.Source

    private enum State {
        case idle
        case awaitingHead(EventLoopPromise<PlainHTTP1Response>)
        case streaming(Source, keepAlive: Bool)
        case closed
    }

    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// Bumped per exchange, so a late signal from an earlier response's consumer cannot touch a later one.
    private var generation = 0
    private var servedBefore = false
    private var timer: Scheduled<Void>?
    private var readTimeout = TimeAmount.seconds(60)
    private var paused = false
    private var readPending = false
    /// Called with this connection when a response ended cleanly and it can carry another request.
    private let onReusable: (PlainHTTP1Exchange) -> Void

    init(onReusable: @escaping (PlainHTTP1Exchange) -> Void) {
        self.onReusable = onReusable
    }

    var isUsable: Bool {
        guard case .idle = state, let context else { return false }
        return context.channel.isActive
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Sends the request. Must be called on the channel's event loop while `isUsable`.
    func start(
        _ head: HTTPRequestHead, body: ByteBuffer, firstByteTimeout: TimeAmount, readTimeout: TimeAmount, promise: EventLoopPromise<PlainHTTP1Response>
    ) {
        guard isUsable, let context else {
            promise.fail(PlainHTTP1Error.closedBeforeResponse(reused: servedBefore))
            return
        }
        generation += 1
        self.readTimeout = readTimeout
        state = .awaitingHead(promise)
        arm(firstByteTimeout, failure: .firstByteTimeout)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Closes the connection (an idle one the pool does not keep, or at shutdown).
    func close() {
        state = .closed
        context?.close(promise: nil)
    }

    /// The caller gave up (its task was cancelled) before the response head.
    func cancel() {
        guard case .awaitingHead = state else { return }
        fail(.cancelled)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .awaitingHead(let promise) = state else { return }
            // 1xx interim answers (100 Continue, 103 Early Hints) precede the real head.
            if (100..<200).contains(head.status.code) { return }
            timer?.cancel()
            let produced = PlainHTTP1Body.makeSequence(
                elementType: ByteBuffer.self, backPressureStrategy: .init(lowWatermark: 1, highWatermark: 1), finishOnDeinit: true,
                delegate: Demand(exchange: NIOLoopBound(self, eventLoop: context.eventLoop), generation: generation)
            )
            state = .streaming(produced.source, keepAlive: head.isKeepAlive)
            arm(readTimeout, failure: .readTimeout)
            promise.succeed(PlainHTTP1Response(head: head, body: produced.sequence))
        case .body(let part):
            guard case .streaming(let source, _) = state else { return }
            arm(readTimeout, failure: .readTimeout)
            if case .stopProducing = source.yield(part) { paused = true }
        case .end:
            guard case .streaming(let source, let keepAlive) = state else { return }
            timer?.cancel()
            timer = nil
            source.finish()
            servedBefore = true
            paused = false
            if keepAlive {
                state = .idle
                onReusable(self)
            } else {
                state = .closed
                context.close(promise: nil)
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closedMidResponse)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.closedMidResponse)
        context.close(promise: nil)
    }

    /// Ends the current exchange with `error` (before the head: the caller's promise; after: the body stream) and
    /// closes the connection.
    private func fail(_ error: PlainHTTP1Error) {
        timer?.cancel()
        timer = nil
        switch state {
        case .awaitingHead(let promise):
            let reported: PlainHTTP1Error = error == .closedMidResponse ? .closedBeforeResponse(reused: servedBefore) : error
            promise.fail(reported)
        case .streaming(let source, _):
            source.finish(error)
        case .idle, .closed:
            break
        }
        state = .closed
        context?.close(promise: nil)
    }

    private func arm(_ timeout: TimeAmount, failure: PlainHTTP1Error) {
        timer?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let generation = self.generation
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let exchange = loopBound.value
            if exchange.generation == generation { exchange.fail(failure) }
        }
    }

    private func resume(_ generation: Int) {
        guard generation == self.generation, case .streaming = state else { return }
        paused = false
        if readPending {
            readPending = false
            context?.read()
        }
    }

    private func abandoned(_ generation: Int) {
        // The consumer stopped before the end: the rest of the response is unread, so the connection cannot be reused.
        guard generation == self.generation, case .streaming = state else { return }
        fail(.cancelled)
    }

    /// The body consumer's demand, delivered on the connection's event loop.
    struct Demand: NIOAsyncSequenceProducerDelegate {
        let exchange: NIOLoopBound<PlainHTTP1Exchange>
        let generation: Int

        func produceMore() {
            let (exchange, generation) = (exchange, generation)
            exchange.eventLoop.execute { exchange.value.resume(generation) }
        }

        func didTerminate() {
            let (exchange, generation) = (exchange, generation)
            exchange.eventLoop.execute { exchange.value.abandoned(generation) }
        }
    }
}
