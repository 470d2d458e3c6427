import Logging

/// The whole typed configuration, read once at start-up. See `.env.example` for every setting.
public struct AppConfig: Sendable {
    public enum Environment: String, Sendable { case development, production }
    public enum LogFormat: String, Sendable { case text, json }

    public var environment: Environment
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var database: DatabaseLocation
    public var databasePoolSize: Int
    public var databaseConnectTimeout: Duration
    public var autoMigrate: Bool
    public var redis: RedisLocation?
    /// Server secret; `nil` until `SecretKeyStore.resolve` filled it (development may generate one).
    public var secretKey: String?
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var modelsCacheTTL: Duration
    public var maxBodyBytes: Int
    public var shutdownGracePeriod: Duration
    public var bcryptCost: Int
    public var auth: AuthSettings
    public var billing: BillingSettings
    public var oauth: OAuthSettings
    public var payments: PaymentSettings

    /// Reads every setting from `env`, collecting all problems before failing.
    public static func load(from env: [String: String]) throws(ConfigError) -> AppConfig {
        var reader = SettingReader(env: env)
        let environment = reader.choice("AIHIGRESS_ENV", default: Environment.development)
        let host = reader.string("AIHIGRESS_HOST", default: "127.0.0.1")
        let port = reader.integer("AIHIGRESS_PORT", default: 8000, in: 0...65535)
        let dataDirectory = reader.string("AIHIGRESS_DATA_DIR", default: "./data")
        let database = reader.parsed("DATABASE_URL", default: .sqlite(path: "\(dataDirectory)/aihigress.sqlite")) {
            (text: String) throws(LocationError) in try DatabaseLocation.parse(text)
        }
        let poolSize = reader.integer("AIHIGRESS_DB_POOL_SIZE", default: 10, in: 1...500)
        let connectTimeout = reader.integer("AIHIGRESS_DB_CONNECT_TIMEOUT", default: 30, in: 0...3600)
        let autoMigrate = reader.boolean("AIHIGRESS_AUTO_MIGRATE", default: true)
        let redis: RedisLocation? = reader.parsed("REDIS_URL", default: nil) {
            (text: String) throws(LocationError) in try RedisLocation.parse(text)
        }
        let secret = reader.optionalString("AIHIGRESS_SECRET_KEY")
        let logLevel = reader.choice("LOG_LEVEL", default: Logger.Level.info)
        let logFormat = reader.choice("LOG_FORMAT", default: LogFormat.text)
        let modelsTTL = reader.integer("MODELS_CACHE_TTL", default: 300, in: 1...86_400)
        let maxBody = reader.integer("AIHIGRESS_MAX_BODY_BYTES", default: 16 * 1024 * 1024, in: 1024...(1 << 30))
        let grace = reader.integer("AIHIGRESS_SHUTDOWN_GRACE_SECONDS", default: 30, in: 0...3600)
        let bcryptCost = reader.integer("AIHIGRESS_BCRYPT_COST", default: 12, in: 4...31)
        let auth = AuthSettings.read(&reader)
        let billing = BillingSettings.read(&reader, production: environment == .production)
        let oauth = OAuthSettings.read(&reader)
        let payments = PaymentSettings.read(&reader)

        if let secret, secret.utf8.count < 32 {
            reader.problems.append("AIHIGRESS_SECRET_KEY: must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        }
        if environment == .production {
            if secret == nil {
                reader.problems.append("AIHIGRESS_SECRET_KEY: required when AIHIGRESS_ENV=production")
            }
            if bcryptCost < 10 {
                reader.problems.append("AIHIGRESS_BCRYPT_COST: must be at least 10 when AIHIGRESS_ENV=production")
            }
        }
        if !reader.problems.isEmpty { throw ConfigError(problems: reader.problems) }
        return AppConfig(
            environment: environment,
            host: host,
            port: port,
            dataDirectory: dataDirectory,
            database: database,
            databasePoolSize: poolSize,
            databaseConnectTimeout: .seconds(connectTimeout),
            autoMigrate: autoMigrate,
            redis: redis,
            secretKey: secret,
            logLevel: logLevel,
            logFormat: logFormat,
            modelsCacheTTL: .seconds(modelsTTL),
            maxBodyBytes: maxBody,
            shutdownGracePeriod: .seconds(grace),
            bcryptCost: bcryptCost,
            auth: auth,
            billing: billing,
            oauth: oauth,
            payments: payments
        )
    }
}

extension AppConfig.Environment: CaseIterable {}
extension AppConfig.LogFormat: CaseIterable {}
