import NIOCore
import SQLiteNIO
import VaporCSQLite

/// One open SQLite connection driven directly through the C API on the calling thread, with a cache of prepared
/// statements. A statement here takes microseconds; SQLiteNIO's hop to a thread pool and back around each one cost
/// more than the statement itself, and the ledger runs a dozen per request.
///
/// Not thread-safe by itself: `SQLiteBackend` lets one operation at a time use it (its `AsyncLock`), which is why
/// the mutable state below may be `@unchecked Sendable`.
final class SQLiteHandle: @unchecked Sendable {
    /// Distinct statement texts kept prepared; the application has a few hundred at most. Past the limit the cache
    /// starts over rather than tracking recency, because overflow only happens with generated SQL.
    static let statementCacheLimit = 512

    private var raw: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// Fixed statements by slot (`FixedStatement`): found without hashing their text.
    private var fixedStatements: [OpaquePointer?] = []

    private init(raw: OpaquePointer) {
        self.raw = raw
    }

    /// Opens the file and runs `pragmas` on the new connection; nothing stays open when one fails.
    static func open(path: String, pragmas: [String]) throws -> SQLiteHandle {
        let handle = try open(path: path)
        do {
            for pragma in pragmas { try handle.run(pragma, binds: []) { _ in } }
            return handle
        } catch {
            handle.close()
            throw error
        }
    }

    private static func open(path: String) throws -> SQLiteHandle {
        var raw: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let status = sqlite_nio_sqlite3_open_v2(path, &raw, flags, nil)
        guard status == SQLITE_OK, let raw else {
            let failure = SQLiteFailure(code: status, message: raw.map(SQLiteFailure.message(of:)) ?? "cannot open the database")
            if let raw { sqlite_nio_sqlite3_close_v2(raw) }
            throw failure
        }
        // No busy wait inside SQLite: it would block an event-loop thread. `SQLiteBackend` retries busy statements
        // asynchronously instead.
        sqlite_nio_sqlite3_busy_timeout(raw, 0)
        return SQLiteHandle(raw: raw)
    }

    /// Runs one statement with `binds`, handing each result row to `onRow`. Throws `SQLiteFailure`; one marked
    /// `retryable` was refused for a lock held elsewhere before it changed anything or delivered a row.
    func run(_ sql: String, binds: [SQLiteData], onRow: (SQLiteResultRow) throws -> Void) throws {
        let statement = try prepared(sql)
        var columns: SQLiteColumnNames?
        try execute(statement, binding: { try bind(binds, to: statement) }) {
            let names = columns ?? SQLiteColumnNames(statement: statement)
            columns = names
            try onRow(SQLiteResultRow(columns: names, values: (0..<names.count).map { value(of: statement, at: Int32($0)) }))
        }
    }

    /// Runs a fixed statement: prepared once and kept by its slot, values bound by type, rows read without
    /// SQLiteKit's decoder. Throws as `run(_:binds:onRow:)` does.
    func run(_ fixed: FixedStatement, _ values: [SQLValue], onRow: (FixedRow) throws -> Void) throws {
        let statement = try prepared(fixed)
        try execute(statement, binding: { try bind(values, to: statement) }) {
            let count = sqlite_nio_sqlite3_column_count(statement)
            try onRow(FixedRow(storage: .values((0..<count).map { fixedValue(of: statement, at: $0) })))
        }
    }

    /// Binds the statement's values, steps through its rows (`onRow` reads the current one) and leaves it reset for
    /// its next use. A busy refusal before the first row is `retryable`.
    private func execute(_ statement: OpaquePointer, binding: () throws -> Void, onRow: () throws -> Void) throws {
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        try binding()
        var delivered = false
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            switch status {
            case SQLITE_ROW:
                delivered = true
                try onRow()
            case SQLITE_DONE:
                return
            default:
                throw failure(status, retryable: !delivered && status & 0xff == SQLITE_BUSY)
            }
        }
    }

    /// Copies committed WAL frames into the database file without waiting for readers or writers (the part of a
    /// commit that fsyncs). Returns the frames in the WAL and how many are now in the database file.
    @discardableResult
    func checkpoint() throws -> (walFrames: Int, checkpointed: Int) {
        let raw = try openConnection()
        var walFrames: Int32 = 0
        var checkpointed: Int32 = 0
        let status = sqlite_nio_sqlite3_wal_checkpoint_v2(raw, nil, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &checkpointed)
        guard status == SQLITE_OK || status & 0xff == SQLITE_BUSY else { throw failure(status) }
        return (Int(walFrames), Int(checkpointed))
    }

    func close() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        for case let statement? in fixedStatements { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
        fixedStatements = []
        if let raw { sqlite_nio_sqlite3_close_v2(raw) }
        raw = nil
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let cached = statements[sql] { return cached }
        let raw = try openConnection()
        if statements.count >= Self.statementCacheLimit {
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
            statements = [:]
        }
        let statement = try compile(sql, on: raw)
        statements[sql] = statement
        return statement
    }

    private func prepared(_ fixed: FixedStatement) throws -> OpaquePointer {
        if fixed.slot < fixedStatements.count, let cached = fixedStatements[fixed.slot] { return cached }
        let statement = try compile(fixed.sqliteText, on: try openConnection())
        if fixed.slot >= fixedStatements.count {
            fixedStatements += [OpaquePointer?](repeating: nil, count: fixed.slot + 1 - fixedStatements.count)
        }
        fixedStatements[fixed.slot] = statement
        return statement
    }

    /// A statement prepared to be kept and run many times.
    private func compile(_ sql: String, on raw: OpaquePointer) throws -> OpaquePointer {
        var statement: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(raw, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure(status) }
        return statement
    }

    private func openConnection() throws -> OpaquePointer {
        guard let raw else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed") }
        return raw
    }

    private func bind(_ binds: [SQLiteData], to statement: OpaquePointer) throws {
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number):
                status = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
            case .float(let number):
                status = sqlite_nio_sqlite3_bind_double(statement, index, number)
            case .text(let text):
                status = bindText(text, at: index, of: statement)
            case .blob(let buffer):
                status = buffer.withUnsafeReadableBytes { bytes in
                    sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), sqliteTransient)
                }
            case .null:
                status = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard status == SQLITE_OK else { throw failure(status) }
        }
    }

    private func bind(_ values: [SQLValue], to statement: OpaquePointer) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number?): status = sqlite_nio_sqlite3_bind_int64(statement, index, number)
            case .bool(let flag): status = sqlite_nio_sqlite3_bind_int64(statement, index, flag ? 1 : 0)
            case .text(let text?): status = bindText(text, at: index, of: statement)
            case .integer(nil), .text(nil): status = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard status == SQLITE_OK else { throw failure(status) }
        }
    }

    private func bindText(_ text: String, at index: Int32, of statement: OpaquePointer) -> Int32 {
        text.withCString { characters in
            sqlite_nio_sqlite3_bind_text64(statement, index, characters, UInt64(text.utf8.count), sqliteTransient, UInt8(SQLITE_UTF8))
        }
    }

    /// A fixed statement's column: its statements return integers and text only (a float or blob reads as null).
    private func fixedValue(of statement: OpaquePointer, at column: Int32) -> SQLiteValue {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite_nio_sqlite3_column_int64(statement, column))
        case SQLITE_TEXT:
            return .text(text(of: statement, at: column))
        default:
            return .null
        }
    }

    private func text(of statement: OpaquePointer, at column: Int32) -> String {
        let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
        guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    private func value(of statement: OpaquePointer, at column: Int32) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            return .text(text(of: statement, at: column))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
            }
            return .blob(buffer)
        default:
            return .null
        }
    }

    private func failure(_ status: Int32, retryable: Bool = false) -> SQLiteFailure {
        SQLiteFailure(code: status, message: raw.map(SQLiteFailure.message(of:)) ?? "the database is closed", retryable: retryable)
    }
}

/// SQLite's "copy the bound value now" destructor marker.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A failed SQLite call: the primary result code and SQLite's message (which never contains bound values).
public struct SQLiteFailure: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    /// Another connection (the CLI, a second server) held a lock this statement needed, and the statement did
    /// nothing: running it again is safe.
    public var retryable = false

    public var description: String { "SQLite error \(code): \(message)" }

    static func message(of raw: OpaquePointer) -> String {
        sqlite_nio_sqlite3_errmsg(raw).map { String(cString: $0) } ?? "unknown error"
    }
}
