/// Lowercase hex text of bytes. `String(format: "%02x")` per byte went through Foundation's formatter and
/// allocated a string per byte; hashes and identifiers are made on every request.
public enum Hex {
    private static let digits: StaticString = "0123456789abcdef"

    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits.utf8Start[Int(byte >> 4)])
            out.append(digits.utf8Start[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
