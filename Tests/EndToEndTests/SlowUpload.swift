import Foundation

/// A raw HTTP/1.1 client on a blocking socket that sends a request body in two halves, to hold a request open.
final class SlowUpload: @unchecked Sendable {
    private let fd: Int32
    private let head: String
    private let body: [UInt8]

    init(port: Int, path: String, key: String, body: String) throws {
        fd = try LoopbackSocket.connect(port: port)
        self.body = Array(body.utf8)
        head = LoopbackSocket.postHead(path: path, key: key, contentLength: self.body.count)
    }

    func sendHeadersAndHalf() async throws {
        try write(Array(head.utf8) + body[..<(body.count / 2)])
    }

    /// Sends the rest and reads until the server closes or the response is complete.
    func finish() async throws -> String {
        try write(Array(body[(body.count / 2)...]))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[..<n]
            let text = String(decoding: received, as: UTF8.self)
            if let split = text.range(of: "\r\n\r\n"), let length = Self.contentLength(text[..<split.lowerBound]),
                received.count >= text.utf8.distance(from: text.startIndex, to: split.upperBound) + length
            {
                break
            }
        }
        close(fd)
        return String(decoding: received, as: UTF8.self)
    }

    private func write(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw TestSetupErrorE2E("short write") }
    }

    private static func contentLength(_ head: Substring) -> Int? {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

/// Blocking TCP connections to the server under test, for clients that must misbehave on purpose.
enum LoopbackSocket {
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestSetupErrorE2E("connect failed")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func postHead(path: String, key: String, contentLength: Int) -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: \(contentLength)\r\n\r\n"
    }
}

struct TestSetupErrorE2E: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
