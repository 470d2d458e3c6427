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
    }
}
