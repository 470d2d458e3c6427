/// One server-sent event.
public struct SSEFrame: Sendable, Equatable {
    public var event: String?
    public var data: String
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }

    /// The wire form, ending with the blank line that dispatches it. Data is split into `data:` lines at every
    /// `\n` that is a character of its own (not the second half of `\r\n`), as splitting by characters did.
    public var serialized: String {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 16)
        if let event { Self.append(field: "event", event.utf8, to: &out) }
        if let id { Self.append(field: "id", id.utf8, to: &out) }
        var data = data
        data.withUTF8 { bytes in
            var lineStart = 0
            for index in bytes.indices where bytes[index] == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) {
                Self.append(field: "data", UnsafeBufferPointer(rebasing: bytes[lineStart..<index]), to: &out)
                lineStart = index + 1
            }
            Self.append(field: "data", UnsafeBufferPointer(rebasing: bytes[lineStart...]), to: &out)
        }
        out.append(0x0A)
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(field: StaticString, _ value: some Sequence<UInt8>, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: field.utf8Start, count: field.utf8CodeUnitCount))
        out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        out.append(contentsOf: value)
        out.append(0x0A)
    }
}

/// Incremental parser for `text/event-stream`: feed bytes as they arrive, get complete events out.
/// Handles `\n`, `\r\n` and `\r` line ends, multi-line data, comments, and events split across chunks.
public struct SSEParser: Sendable {
    private var buffer: [UInt8] = []
    private var event: String?
    private var data: [String] = []
    private var id: String?
    private var sawField = false
    private var skipLeadingLF = false

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEFrame] {
        var frames: [SSEFrame] = []
        let fed: Void? = bytes.withContiguousStorageIfAvailable { feed(contiguous: $0, into: &frames) }
        if fed == nil { Array(bytes).withUnsafeBufferPointer { feed(contiguous: $0, into: &frames) } }
        return frames
    }

    /// Whole lines are handled straight from the chunk; only a line split across chunks is buffered.
    private mutating func feed(contiguous input: UnsafeBufferPointer<UInt8>, into frames: inout [SSEFrame]) {
        var index = 0
        if skipLeadingLF, !input.isEmpty {
            skipLeadingLF = false
            if input[0] == 0x0A { index = 1 }
        }
        while index < input.count {
            var end = index
            while end < input.count, input[end] != 0x0A, input[end] != 0x0D { end += 1 }
            guard end < input.count else {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: input[index..<end]))
                return
            }
            let frame: SSEFrame?
            if buffer.isEmpty {
                frame = line(bytes: UnsafeBufferPointer(rebasing: input[index..<end]))
            } else {
                var pending: [UInt8] = []
                swap(&pending, &buffer)
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: input[index..<end]))
                frame = pending.withUnsafeBufferPointer { line(bytes: $0) }
                pending.removeAll(keepingCapacity: true)
                buffer = pending
            }
            if let frame { frames.append(frame) }
            index = end + 1
            if input[end] == 0x0D {
                if index == input.count {
                    skipLeadingLF = true
                } else if input[index] == 0x0A {
                    index += 1
                }
            }
        }
    }

    /// Flushes an event left without its closing blank line when the stream ends.
    public mutating func finish() -> [SSEFrame] {
        var frames: [SSEFrame] = []
        if !buffer.isEmpty, let frame = line(String(decoding: buffer, as: UTF8.self)) { frames.append(frame) }
        buffer.removeAll()
        if let frame = dispatch() { frames.append(frame) }
        return frames
    }

    /// One line from bytes. When the field name is ASCII and the bytes after `:` and after the optional space are
    /// ASCII, bytes and characters split the same way; anything else takes the character-based path below, so a
    /// combining mark after `:` or the space behaves exactly as it always did.
    private mutating func line(bytes: UnsafeBufferPointer<UInt8>) -> SSEFrame? {
        if bytes.isEmpty { return dispatch() }
        func isASCII(at index: Int) -> Bool { index >= bytes.count || bytes[index] < 0x80 }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            record(field: bytes, value: "")
            return nil
        }
        if colon == 0 && isASCII(at: 1) { return nil }
        var valueStart = colon + 1
        if isASCII(at: valueStart), valueStart < bytes.count, bytes[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        guard colon > 0, isASCII(at: colon + 1), isASCII(at: valueStart), bytes[..<colon].allSatisfy({ $0 < 0x80 }) else {
            return line(String(decoding: bytes, as: UTF8.self))
        }
        let value = UnsafeBufferPointer(rebasing: bytes[valueStart...])
        record(field: UnsafeBufferPointer(rebasing: bytes[..<colon]), value: String(decoding: value, as: UTF8.self))
        return nil
    }

    private mutating func record(field: UnsafeBufferPointer<UInt8>, value: @autoclosure () -> String) {
        if field.elementsEqual("event".utf8) {
            event = value()
        } else if field.elementsEqual("data".utf8) {
            data.append(value())
        } else if field.elementsEqual("id".utf8) {
            id = value()
        } else {
            return
        }
        sawField = true
    }

    private mutating func line(_ text: String) -> SSEFrame? {
        if text.isEmpty { return dispatch() }
        if text.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "event": event = String(value); sawField = true
        case "data": data.append(String(value)); sawField = true
        case "id": id = String(value); sawField = true
        default: break
        }
        return nil
    }

    private mutating func dispatch() -> SSEFrame? {
        defer {
            event = nil
            data = []
            id = nil
            sawField = false
        }
        guard sawField, !data.isEmpty else { return nil }
        return SSEFrame(event: event, data: data.joined(separator: "\n"), id: id)
    }
}
