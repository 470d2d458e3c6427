/// The fields a message's framing and its connection's reuse depend on, noted while a head's fields are read so
/// nothing searches or re-splits the headers afterwards. Shared by the request and the response parser.
public struct HTTP1FramingFields: Sendable, Equatable {
    /// Whether `Content-Length` was sent; its first value (nil when not digits), and whether every other one
    /// repeats it (`length()` checks all three).
    public private(set) var hasContentLength = false
    private var firstLength: Int?
    private var lengthsAgree = true
    /// Whether `Transfer-Encoding` was sent, and whether the last coding of its last field is `chunked`.
    public private(set) var transferCoded = false
    public private(set) var endsChunked = false
    /// `Connection` options (`persistent(minor:)` reads them).
    private var close = false
    private var keepAlive = false

    public init() {}

    /// Notes the field when framing or reuse depends on it. Name and value are the head's own bytes: no strings
    /// are made for the fields nothing else reads.
    public mutating func note(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        if HTTP1Syntax.equalsIgnoringCase(name, "content-length") {
            let length = HTTP1Syntax.contentLength(value)
            if hasContentLength {
                lengthsAgree = lengthsAgree && length != nil && length == firstLength
            } else {
                hasContentLength = true
                firstLength = length
            }
        } else if HTTP1Syntax.equalsIgnoringCase(name, "transfer-encoding") {
            transferCoded = true
            var last: Slice<UnsafeRawBufferPointer>?
            HTTP1Syntax.forEachListElement(value) { last = $0 }
            endsChunked = last.map { HTTP1Syntax.equalsIgnoringCase($0, "chunked") } ?? false
        } else if HTTP1Syntax.equalsIgnoringCase(name, "connection") {
            HTTP1Syntax.forEachListElement(value) { option in
                if HTTP1Syntax.equalsIgnoringCase(option, "close") { close = true }
                if HTTP1Syntax.equalsIgnoringCase(option, "keep-alive") { keepAlive = true }
            }
        }
    }

    /// Whether the connection may carry another message: HTTP/1.1 unless `close`; HTTP/1.0 only with `keep-alive`.
    public func persistent(minor: Int) -> Bool {
        minor >= 1 ? !close : keepAlive && !close
    }

    /// The `Content-Length`, when one was sent: digits only, every value the same.
    public func length() throws(HTTP1Syntax.Malformed) -> Int? {
        guard hasContentLength else { return nil }
        guard let firstLength, lengthsAgree else { throw HTTP1Syntax.Malformed("bad content-length") }
        return firstLength
    }
}
