import Hummingbird
import NIOCore

/// A request body too large to gather before the route runs, handed over part by part as it arrives. Reading
/// stops while the route has not taken the parts already read (two buffered, at most eight), so a slow consumer
/// holds a few parts of a large upload, not all of it.
struct StreamedRequestBody {
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand
    >

    let source: Producer.Source
    let body: RequestBody

    /// `resume` runs on whichever thread asked for more; the caller hops to its event loop.
    init(resume: @escaping @Sendable () -> Void) {
        let made = Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: Demand(resume: resume)
        )
        source = made.source
        body = RequestBody(asyncSequence: made.sequence)
    }

    /// False when the consumer has enough for now: stop reading until `resume` runs.
    func yield(_ part: ByteBuffer) -> Bool {
        switch source.yield(part) {
        case .produceMore: return true
        case .stopProducing: return false
        case .dropped: return true
        }
    }

    struct Demand: NIOAsyncSequenceProducerDelegate {
        let resume: @Sendable () -> Void
        func produceMore() { resume() }
        /// The route stopped reading (or finished): the connection discards what is left of the body.
        func didTerminate() { resume() }
    }
}

/// The route answered before the client finished sending the body; the rest is read and discarded.
struct RequestBodyAbandoned: Error {}
