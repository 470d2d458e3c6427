import NIOConcurrencyHelpers
import SQLKit
import Synchronization

/// A statement whose text never changes, for the statements run on every request (the ledger's). Written once
/// with `?` placeholders; the PostgreSQL text (`$1`, `$2`, …) is derived once. On the embedded database it is
/// prepared once and found again by its slot, and its values are bound by type: no SQLKit serialising, text
/// hashing, dynamic casts or `Decodable` rows per call, which were ~40 % of the ledger thread's time.
public final class FixedStatement: Sendable {
    let sqliteText: String
    let postgresText: String
    /// Where `SQLiteHandle` keeps it prepared.
    let slot: Int

    private static let slots = Atomic<Int>(0)

    /// `text` uses `?` for each value, in the order of the values passed to `run`. A `?` inside a quoted literal
    /// is left alone.
    public init(_ text: String) {
        self.sqliteText = text
        self.postgresText = Self.numberingPlaceholders(text)
        self.slot = Self.slots.add(1, ordering: .relaxed).oldValue
    }

    static func numberingPlaceholders(_ text: String) -> String {
        var numbered = ""
        numbered.reserveCapacity(text.utf8.count + 16)
        var quoted = false
        var count = 0
        for character in text {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                count += 1
                numbered += "$\(count)"
            } else {
                numbered.append(character)
            }
        }
        return numbered
    }

    public static let beginImmediate = FixedStatement("BEGIN IMMEDIATE")
    public static let commit = FixedStatement("COMMIT")
    public static let rollback = FixedStatement("ROLLBACK")
}

/// A value bound to a `FixedStatement`. Typed (a null still has its column's type) because PostgreSQL needs the
/// type of every parameter.
public enum SQLValue: Sendable, Equatable {
    case text(String?)
    case integer(Int64?)
    case bool(Bool)

    /// What the SQLKit path binds: the same Swift types the statements bound before.
    var encodable: any Encodable & Sendable {
        switch self {
        case .text(let text): if let text { text } else { String?.none }
        case .integer(let number): if let number { number } else { Int64?.none }
        case .bool(let flag): flag
        }
    }
}

/// One result row of a `FixedStatement`, read by column position (the order of its SELECT or RETURNING list).
public struct FixedRow: Sendable {
    enum Storage: Sendable {
        case values([SQLiteValue])
        case row(any SQLRow)
    }

    let storage: Storage

    public func int64(_ column: Int) throws -> Int64 {
        switch storage {
        case .values(let values):
            guard column < values.count else { throw FixedRowError.noColumn(column) }
            guard case .integer(let number) = values[column] else { throw FixedRowError.notAnInteger(column) }
            return number
        case .row(let row):
            return try row.decode(column: try Self.name(of: column, in: row), as: Int64.self)
        }
    }

    public func string(_ column: Int) throws -> String {
        guard let text = try optionalString(column) else { throw FixedRowError.notText(column) }
        return text
    }

    public func optionalString(_ column: Int) throws -> String? {
        switch storage {
        case .values(let values):
            guard column < values.count else { throw FixedRowError.noColumn(column) }
            switch values[column] {
            case .text(let text): return text
            case .null: return nil
            case .integer: throw FixedRowError.notText(column)
            }
        case .row(let row):
            return try row.decode(column: try Self.name(of: column, in: row), as: String?.self)
        }
    }

    private static func name(of column: Int, in row: any SQLRow) throws -> String {
        let columns = row.allColumns
        guard column < columns.count else { throw FixedRowError.noColumn(column) }
        return columns[column]
    }
}

/// A column of an embedded-database row as a fixed statement reads it (its statements return integers and text).
enum SQLiteValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case null
}

public enum FixedRowError: Error, CustomStringConvertible {
    case noColumn(Int)
    case notAnInteger(Int)
    case notText(Int)

    public var description: String {
        switch self {
        case .noColumn(let column): "the result has no column \(column)"
        case .notAnInteger(let column): "column \(column) is not an integer"
        case .notText(let column): "column \(column) is not text"
        }
    }
}

extension SQLDatabase {
    /// Runs `statement` with `values`, handing each row to `onRow`.
    public func run(_ statement: FixedStatement, _ values: [SQLValue] = [], onRow: (FixedRow) throws -> Void = { _ in }) async throws {
        if let embedded = self as? SQLiteInlineDatabase {
            return try await embedded.run(statement, values, onRow: onRow)
        }
        let rows = NIOLockedValueBox<[any SQLRow]>([])
        try await execute(sql: FixedExpression(text: postgresOrSQLiteText(statement), values: values)) { row in
            rows.withLockedValue { $0.append(row) }
        }
        for row in rows.withLockedValue({ $0 }) { try onRow(FixedRow(storage: .row(row))) }
    }

    /// The statement's first row, if any.
    public func first(_ statement: FixedStatement, _ values: [SQLValue] = []) async throws -> FixedRow? {
        var first: FixedRow?
        try await run(statement, values) { row in
            if first == nil { first = row }
        }
        return first
    }

    private func postgresOrSQLiteText(_ statement: FixedStatement) -> String {
        dialect.name == "postgresql" ? statement.postgresText : statement.sqliteText
    }
}

/// The fixed text and its binds, for databases reached through SQLKit (PostgreSQL).
private struct FixedExpression: SQLExpression {
    let text: String
    let values: [SQLValue]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write(text)
        serializer.binds += values.map(\.encodable)
    }
}
