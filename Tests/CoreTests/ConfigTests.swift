import Testing
@testable import Core

@Suite struct ConfigTests {
    @Test func defaultsDescribeTheEmbeddedSetup() throws {
        let config = try AppConfig.load(from: [:])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8000)
        #expect(config.database == .sqlite(path: "./data/aihigress.sqlite"))
        #expect(config.redis == nil)
        #expect(config.environment == .development)
        #expect(config.logFormat == .text)
        #expect(config.logLevel == .info)
        #expect(config.modelsCacheTTL == .seconds(300))
        #expect(config.autoMigrate)
        #expect(config.secretKey == nil)
    }

    @Test func everyBadSettingIsNamedInOneError() throws {
        let env = [
            "AIHIGRESS_PORT": "99999",
            "LOG_FORMAT": "xml",
            "DATABASE_URL": "mysql://u@h/db",
            "REDIS_URL": "rediss://h:1",
            "AIHIGRESS_AUTO_MIGRATE": "maybe",
            "AIHIGRESS_ENV": "production",
            "MODELS_CACHE_TTL": "-5",
        ]
        let error = #expect(throws: ConfigError.self) { try AppConfig.load(from: env) }
        let text = try #require(error).description
        for name in ["AIHIGRESS_PORT", "LOG_FORMAT", "DATABASE_URL", "REDIS_URL", "AIHIGRESS_AUTO_MIGRATE", "AIHIGRESS_SECRET_KEY", "MODELS_CACHE_TTL"] {
            #expect(text.contains(name), "missing \(name) in: \(text)")
        }
        #expect(try #require(error).problems.count == 7)
    }

    @Test func productionNeedsALongEnoughSecretAndStrongBcrypt() throws {
        #expect(throws: ConfigError.self) {
            try AppConfig.load(from: ["AIHIGRESS_ENV": "production", "AIHIGRESS_SECRET_KEY": "short"])
        }
        #expect(throws: ConfigError.self) {
            try AppConfig.load(from: ["AIHIGRESS_ENV": "production", "AIHIGRESS_SECRET_KEY": String(repeating: "k", count: 40), "AIHIGRESS_BCRYPT_COST": "4"])
        }
        let config = try AppConfig.load(from: ["AIHIGRESS_ENV": "production", "AIHIGRESS_SECRET_KEY": String(repeating: "k", count: 40)])
        #expect(config.secretKey?.count == 40)
    }

    @Test func databaseURLForms() throws {
        #expect(try DatabaseLocation.parse("sqlite:///var/lib/a.sqlite") == .sqlite(path: "/var/lib/a.sqlite"))
        #expect(try DatabaseLocation.parse("sqlite://data/b.sqlite") == .sqlite(path: "data/b.sqlite"))
        let pg = try DatabaseLocation.parse("postgres://app:p%40ss@db.internal:6543/gateway?sslmode=require")
        #expect(pg == .postgres(.init(host: "db.internal", port: 6543, username: "app", password: "p@ss", database: "gateway", tls: .require)))
        #expect(try DatabaseLocation.parse("postgresql://app@db/gw") == .postgres(.init(host: "db", port: 5432, username: "app", password: nil, database: "gw", tls: .disable)))
        #expect(pg.redacted.contains("p@ss") == false)
        #expect(throws: LocationError.self) { try DatabaseLocation.parse("postgres://app@db") }
        #expect(throws: LocationError.self) { try DatabaseLocation.parse("sqlite://") }
        #expect(throws: LocationError.self) { try DatabaseLocation.parse("postgres://db/gw?sslmode=bogus") }
    }

    @Test func redisURLForms() throws {
        #expect(try RedisLocation.parse("redis://127.0.0.1:6380/2") == RedisLocation(host: "127.0.0.1", port: 6380, database: 2))
        #expect(try RedisLocation.parse("redis://:pw@cache") == RedisLocation(host: "cache", password: "pw"))
        #expect(throws: LocationError.self) { try RedisLocation.parse("redis://cache/x") }
        #expect(throws: LocationError.self) { try RedisLocation.parse("http://cache") }
    }

    @Test func dotenvIsOverriddenByTheRealEnvironment() throws {
        let parsed = DotEnv.parse(
            """
            # comment
            export AIHIGRESS_PORT=9000
            LOG_FORMAT="json"
            LOG_LEVEL=debug # trailing comment
            EMPTY=
            """
        )
        #expect(parsed["AIHIGRESS_PORT"] == "9000")
        #expect(parsed["LOG_FORMAT"] == "json")
        #expect(parsed["LOG_LEVEL"] == "debug")
        #expect(parsed["EMPTY"] == "")
        let dir = try TestSupportPaths.tempFile("AIHIGRESS_PORT=9000\nLOG_FORMAT=json\n")
        let merged = DotEnv.merged(environment: ["AIHIGRESS_PORT": "7000"], fileAt: dir)
        let config = try AppConfig.load(from: merged)
        #expect(config.port == 7000)
        #expect(config.logFormat == .json)
    }

    @Test func developmentSecretIsGeneratedOnceAndReused() throws {
        let dir = try TestSupportPaths.tempDirectory()
        let config = try AppConfig.load(from: ["AIHIGRESS_DATA_DIR": dir])
        let first = try SecretKeyStore.resolve(config)
        let second = try SecretKeyStore.resolve(config)
        #expect(first.secret == second.secret)
        #expect(first.secret.count >= 32)
        #expect(first.warning != nil)
        let configured = try AppConfig.load(from: ["AIHIGRESS_DATA_DIR": dir, "AIHIGRESS_SECRET_KEY": String(repeating: "s", count: 32)])
        #expect(try SecretKeyStore.resolve(configured).warning == nil)
    }
}
