import Foundation

/// A Redis server, parsed from `REDIS_URL` (`redis://[user:password@]host[:port][/db]`).
public struct RedisLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    public var redacted: String { "redis://\(host):\(port)/\(database)" }

    public static func parse(_ url: String) throws(LocationError) -> RedisLocation {
        if url.hasPrefix("rediss://") {
            throw LocationError("REDIS_URL: rediss:// (TLS) is not supported; use a TLS tunnel or a private network")
        }
        guard url.hasPrefix("redis://"), let c = URLComponents(string: url), let host = c.host, !host.isEmpty else {
            throw LocationError("REDIS_URL: expected redis://[:password@]host[:port][/db]")
        }
        let dbText = c.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var database = 0
        if !dbText.isEmpty {
            guard let n = Int(dbText), n >= 0 else { throw LocationError("REDIS_URL: database must be a number") }
            database = n
        }
        let user = c.user.flatMap { $0.isEmpty ? nil : ($0.removingPercentEncoding ?? $0) }
        return RedisLocation(
            host: host,
            port: c.port ?? 6379,
            username: user,
            password: c.password.map { $0.removingPercentEncoding ?? $0 },
            database: database
        )
    }
}
