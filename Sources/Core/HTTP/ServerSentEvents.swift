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

    /// The wire form, ending with the blank line that dispatches it.
    public var serialized: String {
        var out = ""
        if let event { out += "event: \(event)\n" }
        if let id { out += "id: \(id)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            out += "data: \(line)\n"
        }
        return out + "\n"
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
        for byte in bytes {
            if skipLeadingLF {
                skipLeadingLF = false
                if byte == 0x0A { continue }
            }
            if byte == 0x0A || byte == 0x0D {
                if byte == 0x0D { skipLeadingLF = true }
                if let frame = line(String(decoding: buffer, as: UTF8.self)) { frames.append(frame) }
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
            }
        }
        return frames
    }

    /// Flushes an event left without its closing blank line when the stream ends.
    public mutating func finish() -> [SSEFrame] {
        var frames: [SSEFrame] = []
        if !buffer.isEmpty, let frame = line(String(decoding: buffer, as: UTF8.self)) { frames.append(frame) }
        buffer.removeAll()
        if let frame = dispatch() { frames.append(frame) }
        return frames
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
