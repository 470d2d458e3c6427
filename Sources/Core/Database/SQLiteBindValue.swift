import SQLiteNIO

/// Bind values the embedded driver converts itself. SQLiteKit's encoder converts a plain `String` or `Int` directly but
/// sends every `Optional` through an encoder object and `Encodable.encode(to:)`; the ledger binds a dozen optionals
/// per posting, and that machinery was 5 % of the ledger thread's samples. The values produced are the ones
/// SQLiteKit produces (`SQLiteDataConvertible`), which `SQLiteDriverTests` checks.
protocol SQLiteBindValue {
    var sqliteBindValue: SQLiteData { get }
}

extension String: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { .text(self) }
}

extension Int: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { .integer(self) }
}

extension Int64: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { .integer(Int(self)) }
}

extension Int32: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { .integer(Int(self)) }
}

extension Bool: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { .integer(self ? 1 : 0) }
}

extension Double: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { .float(self) }
}

extension Optional: SQLiteBindValue where Wrapped: SQLiteBindValue {
    var sqliteBindValue: SQLiteData { self?.sqliteBindValue ?? .null }
}
