import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore

/// An upstream request body that AsyncHTTPClient reads once and then no longer holds. A `.bytes` body stays
/// referenced by the client's transaction until the response has ended, so a long stream kept its whole prompt
/// alive (48 KB prompts at 1,000 open streams: ~57 MB in heaptrack). Small bodies still go as `.bytes`: streaming
/// one costs the client an extra task per request, and keeping a few kilobytes is cheaper than that.
struct OneShotBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// Bodies at least this large are sent through a one-shot sequence.
    static let threshold = 16 * 1024

    private let buffer: NIOLockedValueBox<ByteBuffer?>

    init(_ buffer: ByteBuffer) {
        self.buffer = NIOLockedValueBox(buffer)
    }

    static func body(_ bytes: ByteBuffer) -> HTTPClientRequest.Body {
        guard bytes.readableBytes >= threshold else { return .bytes(bytes) }
        return .stream(OneShotBody(bytes), length: .known(Int64(bytes.readableBytes)))
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: NIOLockedValueBox<ByteBuffer?>

        mutating func next() async -> ByteBuffer? {
            buffer.withLockedValue { buffer in
                defer { buffer = nil }
                return buffer
            }
        }
    }
}
