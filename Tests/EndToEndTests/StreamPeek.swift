import Foundation

/// Requests on a raw socket that the client abandons: mid-stream, or before any answer.
enum StreamPeek {
    /// Opens a streaming request, reads until some body bytes arrived, then hangs up — a client that goes away
    /// mid-stream.
    static func readThenDisconnect(port: Int, path: String, key: String, body: String, minimumBytes: Int = 300) throws -> String {
        let fd = try post(port: port, path: path, key: key, body: body)
        defer { close(fd) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < minimumBytes {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Sends a request, waits `wait`, then hangs up without reading — a client that gives up before the answer.
    static func sendThenHangUp(port: Int, path: String, key: String, body: String, wait: Duration) async throws {
        let fd = try post(port: port, path: path, key: key, body: body)
        defer { close(fd) }
        try await Task.sleep(for: wait)
    }

    /// Connects and sends the request whole; the caller reads (or not) and closes the socket.
    private static func post(port: Int, path: String, key: String, body: String) throws -> Int32 {
        let fd = try LoopbackSocket.connect(port: port)
        let all = Array(LoopbackSocket.postHead(path: path, key: key, contentLength: body.utf8.count).utf8) + Array(body.utf8)
        _ = all.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return fd
    }
}
