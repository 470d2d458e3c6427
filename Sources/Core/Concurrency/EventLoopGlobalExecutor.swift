#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Makes the event loops Swift concurrency's global executor, so tasks run on the threads that do the I/O (no
/// thread switch between an async handler and its sockets).
///
/// Why not NIO's `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`: it runs each job as if
/// isolated to the loop's serial executor, so every call into a nonisolated async function (which must run on the
/// generic executor) is a switch — an enqueue and another loop tick. A proxied request took ~150 jobs that way.
/// (A job run with the loop as its task executor is no better: the runtime then switches because the task's own
/// preference, none, differs from the current task executor.) Here jobs run on the generic executor, as the
/// default global executor runs them: calls between nonisolated async functions stay direct, and only real
/// suspensions (I/O, timers, continuations, actors) go through the loop's queue.
///
/// The hook is the runtime's documented-but-unofficial `swift_task_enqueueGlobal_hook`, set once at start-up
/// before any task exists; it is installed only if nothing else installed one.
public enum EventLoopGlobalExecutor {
    private typealias EnqueueHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// The generic executor (no isolation): the runtime's null executor reference, which has no public initialiser.
    static let generic: UnownedSerialExecutor = unsafeBitCast((0 as UInt, 0 as UInt), to: UnownedSerialExecutor.self)

    /// Call from the main thread before any task starts. False when the hook is unavailable or already taken.
    @discardableResult
    public static func install() -> Bool {
        // The executor reference is two words in every runtime this builds with; anything else and we stay out.
        guard MemoryLayout<UnownedSerialExecutor>.size == 2 * MemoryLayout<UInt>.size else { return false }
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return false }
        let slot = symbol.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard slot.pointee == nil else { return false }
        let hook: EnqueueHook = { job, _ in EventLoopGlobalExecutor.enqueue(job) }
        withUnsafePointer(to: hook) { pointer in
            pointer.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) { slot.pointee = $0.pointee }
        }
        return true
    }

    /// On the current loop when the caller is on one (no thread switch), else on the group's next.
    private static func enqueue(_ job: UnownedJob) {
        MultiThreadedEventLoopGroup.singleton.any().execute { job.runSynchronously(on: generic) }
    }
}
