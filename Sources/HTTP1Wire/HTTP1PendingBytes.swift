import NIOCore

/// Bytes read from a connection and not yet parsed: an incomplete head or line waits here for the rest.
public struct HTTP1PendingBytes: Sendable {
    private var kept: ByteBuffer?

    public init() {}

    public mutating func append(_ incoming: ByteBuffer) {
        if var bytes = kept {
            kept = nil  // one reference, so the write below does not copy what is kept
            bytes.writeImmutableBuffer(incoming)
            kept = bytes
        } else {
            kept = incoming
        }
    }

    /// Everything kept, leaving nothing; give back what is not parsed with `keep`.
    public mutating func take() -> ByteBuffer {
        let bytes = kept ?? ByteBuffer()
        kept = nil
        return bytes
    }

    public mutating func keep(_ rest: ByteBuffer) {
        kept = rest.readableBytes > 0 ? rest : nil
    }
}
