import NIOCore
import NIOPosix

/// A task executor with a thread of its own, for work that must not occupy the event loops: a task started with it as
/// its preference (`Task(executorPreference:)`) runs every nonisolated part on that thread, so a synchronous stretch
/// (the embedded database's statements run inline) delays no request waiting on a loop.
public final class DedicatedTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    /// `name` prefixes the thread's name. The thread lives as long as the process (keep the executor in a `static let`).
    public init(name: String) {
        loop = MultiThreadedEventLoopGroup._makePerpetualGroup(threadNamePrefix: name, numberOfThreads: 1).next()
    }

    /// Runs `body` on this executor's thread after `delay` (a timer that wakes no event loop).
    public func schedule(in delay: TimeAmount, _ body: @escaping @Sendable () -> Void) {
        loop.scheduleTask(in: delay, body)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
