import NIOCore

/// Reads one message body by its framing (RFC 9112 §6–7): a known length, chunked (extensions and trailer fields
/// read and dropped), or everything until the connection closes. Body bytes are returned as they arrive, as slices
/// of the read buffer (no copies), so a stream is relayed chunk by chunk.
public struct HTTP1BodyReader: Sendable {
    public enum Framing: Sendable, Equatable {
        case length(Int)
        case chunked
        case untilClose
    }

    public enum Event: Equatable, Sendable {
        case bytes(ByteBuffer)
        case end
    }

    private enum Stage: Sendable {
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line break after a chunk's data.
        case chunkEnd
        case trailers
        case untilClose
        case ended
    }

    /// Chunk-size lines (with extensions) and trailer lines longer than this are refused.
    public static let maxLineBytes = 8 * 1024

    private var stage: Stage

    public init(_ framing: Framing) {
        switch framing {
        case .length(let length): stage = .fixed(remaining: length)
        case .chunked: stage = .chunkSize
        case .untilClose: stage = .untilClose
        }
    }

    public var hasEnded: Bool {
        if case .ended = stage { true } else { false }
    }

    /// The next event from `buffer`, or nil until more bytes arrive. Nothing past the body's end is read.
    public mutating func next(_ buffer: inout ByteBuffer) throws(HTTP1Syntax.Malformed) -> Event? {
        while true {
            switch stage {
            case .ended:
                return nil
            case .fixed(0):
                stage = .ended
                return .end
            case .fixed(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let part = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
                stage = .fixed(remaining: remaining - part.readableBytes)
                return .bytes(part)
            case .chunkSize:
                guard let line = try HTTP1Syntax.readLine(&buffer, limit: Self.maxLineBytes) else { return nil }
                let size = try Self.chunkSize(line)
                stage = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let part = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
                stage = remaining == part.readableBytes ? .chunkEnd : .chunkData(remaining: remaining - part.readableBytes)
                return .bytes(part)
            case .chunkEnd:
                guard let line = try HTTP1Syntax.readLine(&buffer, limit: 2) else { return nil }
                guard line.readableBytes == 0 else { throw HTTP1Syntax.Malformed("chunk data longer than its size") }
                stage = .chunkSize
            case .trailers:
                guard let line = try HTTP1Syntax.readLine(&buffer, limit: Self.maxLineBytes) else { return nil }
                if line.readableBytes == 0 {
                    stage = .ended
                    return .end
                }
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .bytes(buffer.readSlice(length: buffer.readableBytes)!)
            }
        }
    }

    /// The connection reached its end of input: true when that ends this body (read until the close).
    public mutating func inputEnded() -> Bool {
        guard case .untilClose = stage else { return false }
        stage = .ended
        return true
    }

    /// A chunk-size line: hex digits, then optional whitespace and `;`-separated extensions (ignored).
    static func chunkSize(_ line: ByteBuffer) throws(HTTP1Syntax.Malformed) -> Int {
        var size = 0
        var digits = 0
        for byte in line.readableBytesView {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw HTTP1Syntax.Malformed("bad chunk size") }
                return size
            default:
                throw HTTP1Syntax.Malformed("bad chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw HTTP1Syntax.Malformed("chunk too large") }
            size = size * 16 + value
        }
        guard digits > 0 else { throw HTTP1Syntax.Malformed("bad chunk size") }
        return size
    }
}
