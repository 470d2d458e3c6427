import Foundation

/// Where the relational store lives, parsed from `DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    public struct PostgresSettings: Sendable, Equatable {
        public enum TLSMode: String, Sendable { case disable, prefer, require }
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        public var tls: TLSMode

        public init(host: String, port: Int, username: String, password: String?, database: String, tls: TLSMode) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
        }

        /// The same settings pointing at another database on the same server.
        public func with(database: String) -> PostgresSettings {
            var copy = self
            copy.database = database
            return copy
        }
    }

    public var dialect: SQLDialectKind {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// A description safe for logs: never includes the password.
    public var redacted: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let p): "postgres://\(p.username)@\(p.host):\(p.port)/\(p.database)"
        }
    }

    /// Parses `sqlite:///abs.sqlite`, `sqlite://relative.sqlite`, `postgres://user:pw@host:port/db[?sslmode=…]`.
    public static func parse(_ url: String) throws(LocationError) -> DatabaseLocation {
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty, path != "/" else { throw LocationError("DATABASE_URL: sqlite URL has no file path") }
            return .sqlite(path: path)
        }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw LocationError("DATABASE_URL: unsupported scheme (use sqlite:// or postgres://)")
        }
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw LocationError("DATABASE_URL: cannot parse the postgres URL")
        }
        guard let user = components.user, !user.isEmpty else {
            throw LocationError("DATABASE_URL: postgres URL has no user name")
        }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty else { throw LocationError("DATABASE_URL: postgres URL has no database name") }
        var tls = PostgresSettings.TLSMode.disable
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            switch mode {
            case "disable": tls = .disable
            case "prefer", "allow": tls = .prefer
            case "require", "verify-ca", "verify-full": tls = .require
            default: throw LocationError("DATABASE_URL: unknown sslmode '\(mode)'")
            }
        }
        return .postgres(
            PostgresSettings(
                host: host,
                port: components.port ?? 5432,
                username: user.removingPercentEncoding ?? user,
                password: components.password.map { $0.removingPercentEncoding ?? $0 },
                database: database,
                tls: tls
            )
        )
    }
}

/// A configuration value that could not be parsed; the message names the setting.
public struct LocationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum SQLDialectKind: String, Sendable {
    case postgres
    case sqlite
}
