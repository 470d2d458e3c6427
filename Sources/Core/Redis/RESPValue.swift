import CHiredis

/// A decoded Redis reply.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int)
    case bulkString([UInt8])
    case array([RESPValue])
    case null

    /// Converts hiredis's reply tree (the caller frees it).
    init(reply: UnsafeMutablePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .bulkString(Self.bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            self = .simpleString(String(decoding: Self.bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: Self.bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let child = r.element[i] { items.append(RESPValue(reply: child)) } else { items.append(.null) }
            }
            self = .array(items)
        default:
            self = .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    public var string: String? {
        switch self {
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .simpleString(let s): s
        case .integer(let i): String(i)
        default: nil
        }
    }

    public var integer: Int? {
        switch self {
        case .integer(let i): i
        case .bulkString, .simpleString: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// `["message", channel, payload]`: a publish/subscribe push rather than a command reply.
    var pubSubMessage: (channel: String, payload: String)? {
        guard case .array(let items) = self, items.count == 3, items[0].string == "message",
            let channel = items[1].string, let payload = items[2].string
        else { return nil }
        return (channel, payload)
    }
}
