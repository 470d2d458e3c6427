import Core
import Testing

@Suite struct SSEParserTests {
    @Test func parsesEventsSplitAnywhereAcrossChunks() {
        let wire = "event: message_start\ndata: {\"a\":1}\n\n: comment\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\n\n"
        let bytes = Array(wire.utf8)
        for chunkSize in [1, 2, 3, 7, bytes.count] {
            var parser = SSEParser()
            var frames: [SSEFrame] = []
            var i = 0
            while i < bytes.count {
                frames += parser.feed(bytes[i..<min(bytes.count, i + chunkSize)])
                i += chunkSize
            }
            frames += parser.finish()
            #expect(frames == [
                SSEFrame(event: "message_start", data: "{\"a\":1}"),
                SSEFrame(data: "line1\nline2"),
                SSEFrame(data: "[DONE]"),
            ], "chunk size \(chunkSize)")
        }
    }

    @Test func flushesALastEventWithoutBlankLine() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: tail".utf8)).isEmpty)
        #expect(parser.finish() == [SSEFrame(data: "tail")])
    }

    @Test func serialisesMultiLineData() {
        #expect(SSEFrame(event: "e", data: "a\nb").serialized == "event: e\ndata: a\ndata: b\n\n")
        #expect(SSEFrame(data: "").serialized == "data: \n\n")
        #expect(SSEFrame(data: "\n").serialized == "data: \ndata: \n\n")
        #expect(SSEFrame(data: "x", id: "7").serialized == "id: 7\ndata: x\n\n")
        // `\r\n` is one character, so it never split a line.
        #expect(SSEFrame(data: "a\r\nb\nc\r").serialized == "data: a\r\nb\ndata: c\r\n\n")
    }

    /// Combining marks after `:` or after the space join them into one character; lines like that keep the
    /// meaning they had when lines were split by characters.
    @Test func combiningMarksAfterTheColonKeepTheirOldMeaning() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data:\u{301}x\n\n".utf8)).isEmpty, "no `:` character, so an unknown field")
        #expect(parser.feed(Array("data: \u{301}x\n\n".utf8)) == [SSEFrame(data: " \u{301}x")], "the space is not stripped")
        #expect(parser.feed(Array(":\u{301}data\ndata: y\n\n".utf8)) == [SSEFrame(data: "y")])
        #expect(parser.feed(Array("data\nevent:é\n\n".utf8)) == [SSEFrame(event: "é", data: "")])
    }

    @Test func agreesWithCharacterBasedParsingOnRandomStreams() {
        let pieces = ["data", "event", "id", "retry", ":", " ", "x", "é", "\u{301}", "{\"a\":1}", "\n", "\r", "\r\n", "\n\n", "\u{FF}"]
        var seed: UInt64 = 7
        func next() -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33)
        }
        for _ in 0..<300 {
            var wire = Array((0..<40).map { _ in pieces[next() % pieces.count] }.joined().utf8)
            if next() % 4 == 0 { wire.insert(0xFF, at: next() % wire.count) }
            var parser = SSEParser()
            var reference = CharacterSSEParser()
            var frames: [SSEFrame] = []
            var expected: [SSEFrame] = []
            var index = 0
            while index < wire.count {
                let end = min(wire.count, index + 1 + next() % 9)
                frames += parser.feed(wire[index..<end])
                expected += reference.feed(wire[index..<end])
                index = end
            }
            frames += parser.finish()
            expected += reference.finish()
            #expect(frames == expected, "\(String(decoding: wire, as: UTF8.self).debugDescription)")
        }
    }
}

/// The parser as it was before lines were read as bytes: every line decoded to a `String` and split by characters.
private struct CharacterSSEParser {
    private var buffer: [UInt8] = []
    private var event: String?
    private var data: [String] = []
    private var id: String?
    private var sawField = false
    private var skipLeadingLF = false

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEFrame] {
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

    mutating func finish() -> [SSEFrame] {
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
