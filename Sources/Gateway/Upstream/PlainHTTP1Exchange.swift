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
    /// A header name or value that cannot be sent (from the provider's settings or key); nothing was sent.
    case invalidRequestHeader
    /// A gathered body grew past the caller's limit.
    case responseTooLarge
}

typealias PlainHTTP1Body = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, PlainHTTP1Exchange.Demand
>

struct PlainHTTP1Response: Sendable {
    enum Body: Sendable {
        /// Parts as they arrive, with backpressure.
        case streamed(PlainHTTP1Body)
        /// The whole body, gathered on the connection's event loop before the caller resumed.
        case whole(ByteBuffer)
    }

    let head: UpstreamResponseHead
    let body: Body
}

/// The last handler of a pooled keep-alive connection: one request at a time, the whole request written with
/// one flush (one `writev`: head and body reach the upstream together), the response head handed to the caller
/// and the body streamed with backpressure (reads stop while the consumer's buffer is full) — or, for a caller
/// that wants the whole body (a non-streaming answer), gathered here and handed over with the head at the end,
/// which saves the async sequence and its hops between the loop and the task. A response that ends cleanly on a
/// keep-alive connection returns it to its pool; anything else closes it.
final class PlainHTTP1Exchange: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private typealias Source = PlainHTTP1Body.Source

    private enum State {
        case idle
        /// `gatherUpTo`: the body is to be gathered, up to this many bytes.
        case awaitingHead(EventLoopPromise<PlainHTTP1Response>, gatherUpTo: Int?)
        case streaming(Source)
        case gathering(EventLoopPromise<PlainHTTP1Response>, head: UpstreamResponseHead, body: ByteBuffer, limit: Int)
        case closed
    }

    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// Bumped per exchange, so a late signal from an earlier response's consumer cannot touch a later one.
    private var generation = 0
    private var servedBefore = false
    /// When the current wait times out: the head's deadline while awaiting it, the last read plus `readTimeout`
    /// while the body streams. Moving it costs nothing; one timer per connection checks it when it fires.
    private var deadline = NIODeadline.distantFuture
    /// The connection's timer and when it fires. It is not cancelled when a response ends, and not moved later
    /// when a wait starts: firing early, it re-arms itself for the current deadline (or, idle, stops). A timer
    /// scheduled and cancelled per read cost a heap insert and often a `timerfd_settime` each (PERFORMANCE.md).
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?
    private var readTimeout = TimeAmount.seconds(60)
    private var paused = false
    private var readPending = false
    /// Called with this connection when a response ended cleanly and it can carry another request.
    private let onReusable: (PlainHTTP1Exchange) -> Void
    /// Reads the responses, told each request's method before it is sent.
    private var parser = UpstreamResponseParser()

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

    /// Sends the request. Must be called on the channel's event loop while `isUsable`. `gatherUpTo`: the promise
    /// waits for the whole body (at most this many bytes) instead of succeeding at the head.
    func start(
        _ request: UpstreamRequestWire, body: ByteBuffer, firstByteTimeout: TimeAmount, readTimeout: TimeAmount, gatherUpTo: Int?,
        promise: EventLoopPromise<PlainHTTP1Response>
    ) {
        guard isUsable, let context else {
            promise.fail(PlainHTTP1Error.closedBeforeResponse(reused: servedBefore))
            return
        }
        generation += 1
        self.readTimeout = readTimeout
        state = .awaitingHead(promise, gatherUpTo: gatherUpTo)
        deadline = .now() + firstByteTimeout
        armTimer()
        parser.expectResponse(to: request.method)
        context.write(wrapOutboundOut(request.head), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(body), promise: nil) }
        context.flush()
    }

    /// Closes the connection (an idle one the pool does not keep, or at shutdown).
    func close() {
        state = .closed
        context?.close(promise: nil)
    }

    /// The caller gave up (its task was cancelled) before the response head, or before a gathered body's end.
    func cancel() {
        switch state {
        case .awaitingHead, .gathering: fail(.cancelled)
        case .idle, .streaming, .closed: return
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data))
        do {
            while let part = try parser.next() {
                received(part, context: context)
                if case .closed = state { return }
            }
        } catch {
            fail(.closedMidResponse)
        }
    }

    /// One part of the response; the parser has skipped interim (1xx) heads.
    private func received(_ part: UpstreamResponseParser.Part, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            guard case .awaitingHead(let promise, let gatherUpTo) = state else { return }
            deadline = .now() + readTimeout
            armTimer()
            if let limit = gatherUpTo {
                state = .gathering(promise, head: head, body: ByteBuffer(), limit: limit)
                return
            }
            let produced = PlainHTTP1Body.makeSequence(
                elementType: ByteBuffer.self, backPressureStrategy: .init(lowWatermark: 1, highWatermark: 1), finishOnDeinit: true,
                delegate: Demand(exchange: NIOLoopBound(self, eventLoop: context.eventLoop), generation: generation)
            )
            state = .streaming(produced.source)
            promise.succeed(PlainHTTP1Response(head: head, body: .streamed(produced.sequence)))
        case .body(let part):
            switch state {
            case .streaming(let source):
                deadline = .now() + readTimeout
                if case .stopProducing = source.yield(part) { paused = true }
            case .gathering(let promise, let head, var body, let limit):
                deadline = .now() + readTimeout
                guard body.readableBytes + part.readableBytes <= limit else {
                    fail(.responseTooLarge)
                    return
                }
                state = .idle  // drops the state's reference, so the append below does not copy the buffer
                if body.readableBytes == 0 { body = part } else { body.writeImmutableBuffer(part) }
                state = .gathering(promise, head: head, body: body, limit: limit)
            case .idle, .awaitingHead, .closed:
                return
            }
        case .end:
            let ending = state
            let keepAlive: Bool
            switch ending {
            case .streaming, .gathering: keepAlive = parser.reusable
            case .idle, .awaitingHead, .closed: return
            }
            deadline = .distantFuture
            servedBefore = true
            paused = false
            // Back in the pool before the caller hears of the end, so its next call can have this connection.
            if keepAlive {
                state = .idle
                onReusable(self)
            } else {
                state = .closed
                context.close(promise: nil)
            }
            switch ending {
            case .streaming(let source): source.finish()
            case .gathering(let promise, let head, let body, _): promise.succeed(PlainHTTP1Response(head: head, body: .whole(body)))
            case .idle, .awaitingHead, .closed: break
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
        // A body read until the close ends here; anything else in progress was cut short.
        if parser.inputEnded() { received(.end, context: context) }
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
        timer?.task.cancel()
        timer = nil
        deadline = .distantFuture
        switch state {
        case .awaitingHead(let promise, _):
            let reported: PlainHTTP1Error = error == .closedMidResponse ? .closedBeforeResponse(reused: servedBefore) : error
            promise.fail(reported)
        case .streaming(let source):
            source.finish(error)
        case .gathering(let promise, _, _, _):
            promise.fail(error)
        case .idle, .closed:
            break
        }
        state = .closed
        context?.close(promise: nil)
    }

    /// Makes sure the timer fires no later than `deadline`.
    private func armTimer() {
        if let timer, timer.at <= deadline { return }
        timer?.task.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let at = deadline
        timer = (context.eventLoop.scheduleTask(deadline: at) { loopBound.value.timerFired() }, at)
    }

    private func timerFired() {
        timer = nil
        let failure: PlainHTTP1Error
        switch state {
        case .awaitingHead: failure = .firstByteTimeout
        case .streaming, .gathering: failure = .readTimeout
        case .idle, .closed: return
        }
        if deadline <= .now() {
            fail(failure)
        } else {
            armTimer()
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
