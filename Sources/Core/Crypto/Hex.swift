/// Lowercase hex text of bytes. `String(format: "%02x")` per byte went through Foundation's formatter and
/// allocated a string per byte; hashes and identifiers are made on every request.
public enum Hex {
    private static let digits: StaticString = "0123456789abcdef"

    /// Written straight into the string's own storage: one allocation, where growing an array from a digest's
    /// unknown count took seven (PERFORMANCE.md, session 16).
    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ lowercase(UnsafeRawBufferPointer($0)) }) { return text }
        return Array(bytes).withUnsafeBytes { lowercase($0) }
    }

    public static func lowercase(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = digits.utf8Start[Int(byte >> 4)]
                out[2 * index + 1] = digits.utf8Start[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }
}
