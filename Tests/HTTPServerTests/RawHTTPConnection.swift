import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A plain TCP connection to a test server: bytes go out exactly as written (pipelined requests, half-sent bodies,
/// malformed heads) and everything received is kept for the test to inspect.
final class RawHTTPConnection: Sendable {
    private let channel: any Channel
    private let state: NIOLockedValueBox<(received: [UInt8], closed: Bool)>

    private init(channel: any Channel, state: NIOLockedValueBox<(received: [UInt8], closed: Bool)>) {
        self.channel = channel
        self.state = state
    }

    static func connect(port: Int) async throws -> RawHTTPConnection {
        let state = NIOLockedValueBox<(received: [UInt8], closed: Bool)>(([], false))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(state: state)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawHTTPConnection(channel: channel, state: state)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    func close() async {
        try? await channel.close()
    }

    var text: String { state.withLockedValue { String(decoding: $0.received, as: UTF8.self) } }
    var closedByServer: Bool { state.withLockedValue { $0.closed } }

    /// Waits (up to 10 s) until `done` holds for what has been received; returns it.
    @discardableResult
    func waitFor(_ what: String, _ done: (String) -> Bool) async throws -> String {
        for _ in 0..<2_000 {
            let text = self.text
            if done(text) { return text }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw WaitTimedOut(what: what, received: text)
    }

    func waitUntilClosed() async throws {
        try await waitFor("the server to close the connection") { _ in self.closedByServer }
    }

    struct WaitTimedOut: Error, CustomStringConvertible {
        let what: String
        let received: String
        var description: String { "timed out waiting for \(what); received: \(received.debugDescription)" }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state: NIOLockedValueBox<(received: [UInt8], closed: Bool)>
        init(state: NIOLockedValueBox<(received: [UInt8], closed: Bool)>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(buffer: unwrapInboundIn(data))
            state.withLockedValue { $0.received += bytes }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.closed = true }
        }
    }
}

extension String {
    /// How many times `needle` occurs.
    func occurrences(of needle: String) -> Int {
        ranges(of: needle).count
    }
}
