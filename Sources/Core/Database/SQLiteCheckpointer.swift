import Logging
import NIOPosix

/// Checkpoints the WAL from a thread-pool thread on a connection of its own. The serving connection has automatic
/// checkpoints turned off: they run inside a commit, fsync the database file, and would stall an event-loop thread
/// (and every request on it) for milliseconds.
final class SQLiteCheckpointer: Sendable {
    static let interval: Duration = .milliseconds(200)

    private let task: Task<Void, Never>

    init(path: String, logger: Logger) throws {
        // A connection that has not read the database yet has no WAL open, and its checkpoints do nothing.
        let handle = try SQLiteHandle.open(path: path, pragmas: ["PRAGMA journal_mode=WAL"])
        task = Task {
            while true {
                try? await Task.sleep(for: Self.interval)
                if Task.isCancelled { break }
                do {
                    _ = try await NIOThreadPool.singleton.runIfActive { try handle.checkpoint() }
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("sqlite checkpoint failed", metadata: ["error": "\(error)"])
                }
            }
            // One last pass at shutdown (inline: the pool may already refuse work) so the WAL is left small.
            _ = try? handle.checkpoint()
            handle.close()
        }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}
