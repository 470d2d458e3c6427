import Foundation
import Logging
import NIOConcurrencyHelpers

/// Installs the process-wide log handler once, from the configuration.
public enum LogSetup {
    /// The server logs to standard output; CLI commands log to standard error so their JSON output stays clean.
    public static func bootstrap(level: Logger.Level, format: AppConfig.LogFormat, toStandardError: Bool = false) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch (format, toStandardError) {
                case (.json, _): JSONLogHandler(label: label, toStandardError: toStandardError)
                case (.text, false): LazyMetadataLogHandler(StreamLogHandler.standardOutput(label: label))
                case (.text, true): LazyMetadataLogHandler(StreamLogHandler.standardError(label: label))
                }
            handler.logLevel = level
            return handler
        }
    }
}

/// Keeps metadata set on a logger without formatting it, and hands it to the wrapped handler only when a line is
/// written. swift-log's `StreamLogHandler` renders all its metadata on every set, and every request sets its id on
/// its logger: that rendering was ~1.5 % of the gateway's CPU, for lines mostly never written.
public struct LazyMetadataLogHandler: LogHandler {
    private var wrapped: any LogHandler
    public var metadata: Logger.Metadata = [:]

    public init(_ wrapped: any LogHandler) {
        self.wrapped = wrapped
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit } }
        wrapped.log(event: event)
    }
}

/// One JSON object per line on standard output: time, level, label, message and metadata, for log shippers.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let toStandardError: Bool
    private static let lock = NIOLock()

    public init(label: String, toStandardError: Bool = false) {
        self.label = label
        self.toStandardError = toStandardError
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "ts": .string(Self.timestamp()),
            "level": .string(event.level.rawValue),
            "logger": .string(label),
            "msg": .string(event.message.description),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged where fields[key] == nil {
            fields[key] = Self.json(value)
        }
        let line = JSONText.object(fields) + "\n"
        Self.lock.withLock {
            (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(Data(line.utf8))
        }
    }

    private static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let a): .array(a.map(json))
        case .dictionary(let d): .object(d.mapValues(json))
        }
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
