import SQLiteNIO

/// Optionals of the types SQLiteNIO converts directly (`SQLiteDataConvertible`). SQLiteKit's encoder converts a plain
/// `String` or `Int` that way but sends every `Optional` through an encoder object and `Encodable.encode(to:)`; the
/// ledger binds a dozen optionals per posting, and that machinery was 5 % of the ledger thread's samples. The wrapped
/// value is converted by the same conformance SQLiteKit would reach, which `SQLiteDriverTests` checks.
protocol SQLiteOptionalBind {
    /// `.null` for `nil`; nil when the wrapped value has no direct conversion (then SQLiteKit's encoder decides).
    var sqliteBindValue: SQLiteData? { get }
}

extension Optional: SQLiteOptionalBind where Wrapped: SQLiteDataConvertible {
    var sqliteBindValue: SQLiteData? {
        switch self {
        case .none: .null
        case .some(let wrapped): wrapped.sqliteData
        }
    }
}
