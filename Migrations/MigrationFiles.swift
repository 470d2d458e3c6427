import Foundation

/// Locates the numbered SQL files shipped with the binary (a resource bundle), or in `AIHIGRESS_MIGRATIONS_DIR`.
public enum MigrationFiles {
    public static func directory(dialect: String) -> URL? {
        if let override = ProcessInfo.processInfo.environment["AIHIGRESS_MIGRATIONS_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override).appendingPathComponent(dialect)
        }
        return Bundle.module.url(forResource: dialect, withExtension: nil)
    }
}
