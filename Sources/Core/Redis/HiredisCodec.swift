import CHiredis
import NIOCore

/// Parses Redis replies with hiredis's reader; NIO does the socket I/O, so no event-loop thread ever blocks.
final class HiredisReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        reader = redisReaderCreate()
    }

    deinit {
        redisReaderFree(reader)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let count = buffer.readableBytes
        if count > 0 {
            let status = buffer.withUnsafeReadableBytes { raw in
                redisReaderFeed(reader, raw.baseAddress!.assumingMemoryBound(to: CChar.self), count)
            }
            buffer.moveReaderIndex(forwardBy: count)
            guard status == REDIS_OK else { throw RedisError.protocolError(readerError()) }
        }
        while true {
            var reply: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &reply) == REDIS_OK else { throw RedisError.protocolError(readerError()) }
            guard let reply else { return .needMoreData }
            let value = RESPValue(reply: reply.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(reply)
            context.fireChannelRead(wrapInboundOut(value))
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        return .needMoreData
    }

    private func readerError() -> String {
        withUnsafePointer(to: reader.pointee.errstr) {
            $0.withMemoryRebound(to: CChar.self, capacity: 128) { String(cString: $0) }
        }
    }
}

/// Formats a command with hiredis's `redisFormatCommandArgv` (binary-safe arguments).
enum HiredisCommandEncoder {
    static func encode(_ arguments: [String], into buffer: inout ByteBuffer) throws {
        let parts = arguments.map { Array($0.utf8) }
        let lengths = parts.map(\.count)
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, lengths.reduce(0, +)))
        defer { storage.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        var offset = 0
        for part in parts {
            part.withUnsafeBytes { src in
                if let base = src.baseAddress {
                    UnsafeMutableRawPointer(storage + offset).copyMemory(from: base, byteCount: src.count)
                }
            }
            pointers.append(UnsafePointer(storage + offset))
            offset += part.count
        }
        var target: UnsafeMutablePointer<CChar>?
        let length = pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { argvlen in
                redisFormatCommandArgv(&target, Int32(parts.count), argv.baseAddress, argvlen.baseAddress)
            }
        }
        guard length >= 0, let target else { throw RedisError.protocolError("cannot format command") }
        defer { redisFreeCommand(target) }
        buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(length)))
    }
}

public enum RedisError: Error, CustomStringConvertible, Sendable {
    case protocolError(String)
    case server(String)
    case connectionClosed
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .protocolError(let m): "redis protocol error: \(m)"
        case .server(let m): "redis error: \(m)"
        case .connectionClosed: "redis connection closed"
        case .unexpectedReply(let m): "unexpected redis reply: \(m)"
        }
    }
}
