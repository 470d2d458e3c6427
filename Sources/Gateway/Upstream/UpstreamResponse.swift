import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// An upstream's answer, from either client: the status (and `Retry-After`, the one header the gateway reads) once
/// the head has arrived, the body as it streams.
struct UpstreamResponse: Sendable {
    let status: Int
    let retryAfter: String?
    let body: UpstreamBody

    init(_ response: HTTPClientResponse) {
        status = Int(response.status.code)
        retryAfter = response.headers.first(name: "retry-after")
        body = UpstreamBody(.client(response.body))
    }

    init(_ response: PlainHTTP1Response) {
        status = response.head.status
        retryAfter = response.head.retryAfter
        switch response.body {
        case .streamed(let parts): body = UpstreamBody(.plain(parts))
        case .whole(let bytes): body = UpstreamBody(.whole(bytes))
        }
    }
}

/// The response body as byte buffers; ending the iteration early (or dropping it) cancels the rest of the call.
/// NIOCore's `collect(upTo:)` reads it whole.
struct UpstreamBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    enum Backing: Sendable {
        case client(HTTPClientResponse.Body)
        case plain(PlainHTTP1Body)
        /// Already read whole.
        case whole(ByteBuffer)
    }

    private let backing: Backing

    init(_ backing: Backing) {
        self.backing = backing
    }

    func makeAsyncIterator() -> AsyncIterator {
        switch backing {
        case .client(let body): AsyncIterator(.client(body.makeAsyncIterator()))
        case .plain(let body): AsyncIterator(.plain(body.makeAsyncIterator()))
        case .whole(let bytes): AsyncIterator(.whole(bytes))
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        enum Inner {
            case client(HTTPClientResponse.Body.AsyncIterator)
            case plain(PlainHTTP1Body.AsyncIterator)
            case whole(ByteBuffer?)
        }

        private var inner: Inner

        init(_ inner: Inner) {
            self.inner = inner
        }

        mutating func next() async throws -> ByteBuffer? {
            switch inner {
            case .client(var iterator):
                let next = try await iterator.next()
                inner = .client(iterator)
                return next
            case .plain(let iterator):
                return try await iterator.next()
            case .whole(let bytes):
                inner = .whole(nil)
                return bytes.flatMap { $0.readableBytes > 0 ? $0 : nil }
            }
        }
    }
}
