import Foundation

extension AppConfig {
    /// The process environment over the dotenv file (`AIHIGRESS_ENV_FILE`, default `.env`).
    public static func mergedProcessEnvironment() -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        let file = environment["AIHIGRESS_ENV_FILE"] ?? ".env"
        return DotEnv.merged(environment: environment, fileAt: file)
    }

    public static func fromProcessEnvironment() throws(ConfigError) -> AppConfig {
        try load(from: mergedProcessEnvironment())
    }
}
