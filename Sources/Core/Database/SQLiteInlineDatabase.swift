import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import VaporCSQLite

/// SQLKit's view of a `SQLiteHandle`: statements run inline on the caller's thread. Only `SQLiteBackend` hands
/// these out, and only inside its lock.
struct SQLiteInlineDatabase: SQLDatabase {
    /// How long a statement keeps retrying while another process holds the write lock (the old busy_timeout).
    static let busyLimit: Duration = .seconds(15)

    let handle: SQLiteHandle
    let logger: Logger
    /// For bind values without a direct conversion (JSON for anything structured, as SQLiteKit does).
    static let encoder = SQLiteDataEncoder()

    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, rawBinds) = serialize(query)
        logger.trace("sqlite", metadata: ["sql": "\(sql)"])
        let binds = try rawBinds.map { try Self.bindValue($0) }
        try await retryingWhileBusy { try handle.run(sql, binds: binds) { onRow($0) } }
    }

    /// A fixed statement, prepared once and bound by type (`FixedStatement`).
    func run(_ statement: FixedStatement, _ values: [SQLValue], onRow: (FixedRow) throws -> Void) async throws {
        try await retryingWhileBusy { try handle.run(statement, values, onRow: onRow) }
    }

    /// Runs `body` again, with growing pauses, while another process holds the write lock it needs.
    private func retryingWhileBusy(_ body: () throws -> Void) async throws {
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: Self.busyLimit)
        var pause: Duration = .milliseconds(1)
        while true {
            do {
                return try body()
            } catch let failure as SQLiteFailure where failure.retryable && clock.now < giveUp {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            }
        }
    }

    /// The value SQLiteKit's encoder would produce, without its Codable path for optionals.
    static func bindValue(_ value: any Encodable & Sendable) throws -> SQLiteData {
        if let direct = (value as? any SQLiteDataConvertible)?.sqliteData { return direct }
        if let optional = (value as? any SQLiteOptionalBind)?.sqliteBindValue { return optional }
        return try encoder.encode(value)
    }
}

/// Column names of one result, shared by its rows.
final class SQLiteColumnNames: Sendable {
    let names: [String]
    private let offsets: [String: Int]

    init(statement: OpaquePointer) {
        let count = Int(sqlite_nio_sqlite3_column_count(statement))
        let names = (0..<count).map { column in
            sqlite_nio_sqlite3_column_name(statement, Int32(column)).map { String(cString: $0) } ?? ""
        }
        self.names = names
        self.offsets = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var count: Int { names.count }

    func offset(of column: String) -> Int? { offsets[column] }
}

/// One result row, decoded the way SQLiteKit decodes (`SQLiteDataDecoder`).
struct SQLiteResultRow: SQLRow {
    /// One decoder for every row: creating one allocates a JSONDecoder, and rows are decoded on the request path.
    private static let decoder = SQLiteDataDecoder()

    let columns: SQLiteColumnNames
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.offset(of: column) != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let offset = columns.offset(of: column) else { return true }
        return values[offset] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let offset = columns.offset(of: column) else {
            throw DecodingError.keyNotFound(
                SQLiteColumnKey(column), .init(codingPath: [], debugDescription: "no column named \(column)"))
        }
        return try Self.decoder.decode(D.self, from: values[offset])
    }
}

private struct SQLiteColumnKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
