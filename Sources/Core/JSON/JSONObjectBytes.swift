import NIOCore

/// A JSON object kept as the bytes it arrived in: checked whole as the parser checks any document, but only its
/// top-level members indexed (each key, and where key and value lie). A member is parsed when it is read, the whole
/// tree only when asked for, and a copy with some members replaced is spliced from the original bytes. A request
/// forwarded to a provider of its own protocol then costs one scan instead of a tree built and written again, and
/// reaches the provider as the client wrote it (key order, number spelling) but for what the gateway sets.
///
/// Duplicate keys read as the parser reads them: the last one wins. A splice keeps only that one, so a provider
/// cannot see a value other than the one the gateway routed and billed by.
public struct JSONObjectBytes: Sendable {
    public let buffer: ByteBuffer
    /// The top-level members in the order written, duplicates included.
    private let indexed: [JSONParser.Member]

    public enum Failure: Error, Equatable {
        case invalid
        /// A valid document that is not an object; `typeName` says what it is (`JSONValue.typeName`).
        case notAnObject(typeName: String)
    }

    public init(_ buffer: ByteBuffer) throws(Failure) {
        let scanned: [JSONParser.Member]??
        do {
            scanned = try buffer.readableBytesView.withContiguousStorageIfAvailable { try JSONParser.objectMembers($0) }
        } catch {
            throw .invalid
        }
        // A ByteBuffer's bytes are always contiguous: the outer nil cannot happen.
        guard let scanned else { throw .invalid }
        guard let members = scanned else {
            throw .notAnObject(typeName: (try? JSONParser.parse(buffer.readableBytesView))?.typeName ?? "a value")
        }
        self.buffer = buffer
        self.indexed = members
    }

    /// Size in bytes.
    public var count: Int { buffer.readableBytes }

    /// The member's value (the last one of that key), parsed now.
    public subscript(key: String) -> JSONValue? {
        guard let member = indexed.last(where: { $0.key == key }) else { return nil }
        let view = buffer.readableBytesView
        let start = view.startIndex + member.valueBytes.lowerBound
        return try? JSONParser.parse(view[start..<(start + member.valueBytes.count)])
    }

    /// The named members that are present, parsed, for typed reads with `Fields`.
    public func members(_ keys: [String]) -> [String: JSONValue] {
        var picked: [String: JSONValue] = [:]
        for key in keys {
            if let value = self[key] { picked[key] = value }
        }
        return picked
    }

    /// The whole object, parsed.
    public func object() -> [String: JSONValue] {
        (try? JSONParser.parse(buffer.readableBytesView))?.objectValue ?? [:]
    }

    /// The object with `changes` set: each where its key first stood (appended when absent), every other member
    /// as it was written, one per key. When that would reproduce the bytes, they are returned as they are.
    public func replacing(_ changes: [(key: String, value: JSONValue)]) -> ByteBuffer {
        let written = changes.map { (key: $0.key, bytes: JSONText.bytes($0.value)) }
        var lastOfKey: [String: Int] = [:]
        lastOfKey.reserveCapacity(indexed.count)
        for (position, member) in indexed.enumerated() { lastOfKey[member.key] = position }
        return buffer.withUnsafeReadableBytes { raw in
            let unchanged = lastOfKey.count == indexed.count && written.allSatisfy { change in
                lastOfKey[change.key].map { raw[indexed[$0].valueBytes].elementsEqual(change.bytes) } ?? false
            }
            if unchanged { return buffer }
            var out = MemberWriter(capacity: raw.count + written.reduce(16) { $0 + $1.key.utf8.count + $1.bytes.count + 4 })
            var setKeys: Set<String> = []
            for (position, member) in indexed.enumerated() {
                let key = UnsafeRawBufferPointer(rebasing: raw[member.keyBytes])
                if let change = written.first(where: { $0.key == member.key }) {
                    if setKeys.insert(member.key).inserted { out.write(key: key, value: change.bytes) }
                } else if lastOfKey[member.key] == position {
                    out.write(key: key, value: UnsafeRawBufferPointer(rebasing: raw[member.valueBytes]))
                }
            }
            for change in written where !setKeys.contains(change.key) {
                out.write(key: JSONText.bytes(.string(change.key)), value: change.bytes)
            }
            return out.finish()
        }
    }
}

/// An object written member by member from bytes that are already JSON.
private struct MemberWriter {
    private var out: ByteBuffer
    private var empty = true

    init(capacity: Int) {
        out = ByteBufferAllocator().buffer(capacity: capacity)
        out.writeInteger(UInt8(ascii: "{"))
    }

    mutating func write(key: some Collection<UInt8>, value: some Collection<UInt8>) {
        if !empty { out.writeInteger(UInt8(ascii: ",")) }
        empty = false
        out.writeBytes(key)
        out.writeInteger(UInt8(ascii: ":"))
        out.writeBytes(value)
    }

    mutating func finish() -> ByteBuffer {
        out.writeInteger(UInt8(ascii: "}"))
        return out
    }
}

extension JSONObjectBytes {
    /// A tree written out and indexed, for callers that hold one (tests, requests built in code).
    public init(object: [String: JSONValue]) throws(Failure) {
        try self.init(ByteBuffer(bytes: JSONText.bytes(.object(object))))
    }
}
