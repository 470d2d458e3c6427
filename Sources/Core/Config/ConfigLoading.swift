import Foundation

extension AppConfig {
    /// The process environment over the dotenv file (`AIHIGRESS_ENV_FILE`, default `.env`), then parsed.
    public static func fromProcessEnvironment() throws(ConfigError) -> AppConfig {
        let environment = ProcessInfo.processInfo.environment
        let file = environment["AIHIGRESS_ENV_FILE"] ?? ".env"
        return try load(from: DotEnv.merged(environment: environment, fileAt: file))
    }
}
