import Core
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SQLKit

/// Group commit for the two postings every proxied request makes: its hold and its settlement. Operations that
/// arrive while a transaction is running wait for the next one, which applies all of them in arrival order
/// (organisations locked once each, in sorted order so concurrent batches cannot deadlock), writes each account
/// once and commits once. Under load a request pays a share of one transaction instead of two of its own; with no
/// concurrency nothing waits longer than before. One item's refusal (402) does not touch the others; a database
/// error retries each item of the batch in a transaction of its own, so one bad item cannot fail its neighbours.
///
/// A hold is awaited (the request must not go upstream without it); a settlement may be queued without waiting
/// (`enqueue`), so a response need not wait for its charge's commit. `applied()` is the barrier for readers:
/// it returns once everything queued before the call is committed.
final class LedgerBatcher: Sendable {
    struct Hold: Sendable {
        let orgId: String
        let requestId: String
        let clientRequestId: String?
        let apiKeyId: String?
        let amount: Int64
        let lifetime: Duration
        let enforce: Bool
    }

    struct Settle: Sendable {
        let orgId: String
        let requestId: String
        let clientRequestId: String?
        let settlement: CreditHolds.Settlement
        /// The hold is a `credit_holds` row to delete (false: it is kept in memory, `HoldBook`).
        var releasesRow = true
    }

    enum Operation: Sendable {
        case hold(Hold)
        case settle(Settle)

        var orgId: String {
            switch self {
            case .hold(let hold): hold.orgId
            case .settle(let settle): settle.orgId
            }
        }
    }

    typealias Completion = @Sendable (Result<Bool, any Error>) -> Void

    private struct State {
        var queue: [(operation: Operation, completion: Completion)] = []
        /// A drain task is running; everything queued joins it.
        var draining = false
        /// A drain is scheduled to start after `settlementDelay` (queued settlements only).
        var deferred = false
        /// Operations queued and applied so far (applied in queue order, so a count is a position).
        var queued: UInt64 = 0
        var applied: UInt64 = 0
        var barriers: [(position: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let database: Database
    private let ledger = CreditLedger()
    private let state = NIOLockedValueBox(State())
    /// Learns each committed transaction's accounts before its operations complete.
    private let committed: (@Sendable ([String: CreditLedger.Balance]) -> Void)?
    static let maxBatch = 256

    init(database: Database, committed: (@Sendable ([String: CreditLedger.Balance]) -> Void)? = nil) {
        self.database = database
        self.committed = committed
    }

    /// Applies the operation in the next transaction and waits for it. Holds answer true; settlements whether they charged.
    func submit(_ operation: Operation) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(operation) { continuation.resume(with: $0) }
        }
    }

    /// Queues the operation for the next transaction; `completion` runs once it is applied or has failed.
    ///
    /// A hold starts a transaction at once. A settlement is queued as its response is about to be written, so a
    /// transaction it starts begins `settlementDelay` later, on a timer of the caller's event loop: by then the
    /// response has left (yielding a fixed number of times did not guarantee that), and settlements and holds
    /// arriving in the meantime share the transaction.
    func enqueue(_ operation: Operation, completion: @escaping Completion) {
        let isHold = if case .hold = operation { true } else { false }
        let start = state.withLockedValue { state -> Start in
            state.queue.append((operation, completion))
            state.queued += 1
            if state.draining { return .none }
            if isHold {
                state.draining = true
                return .now
            }
            if state.deferred { return .none }
            state.deferred = true
            return .later
        }
        switch start {
        case .none:
            return
        case .now:
            Task(executorPreference: Self.writer) { await self.drain() }
        case .later:
            // On the caller's event loop: arming a timer there is a syscall on the same thread, where waking the
            // writer's thread to arm it there wakes another thread — which can take the vCPU the caller's response is
            // about to be written from (it was on every other request's path). The drain still runs on the writer.
            if let loop = MultiThreadedEventLoopGroup.currentEventLoop {
                loop.scheduleTask(in: Self.settlementDelay) { self.startDeferred() }
            } else {
                Self.writer.schedule(in: Self.settlementDelay) { self.startDeferred() }
            }
        }
    }

    private enum Start { case none, now, later }

    /// Where transactions run: a thread of their own, so a batch's statements (inline on the embedded database) never
    /// hold up the requests waiting on an event loop.
    static let writer = DedicatedTaskExecutor(name: "ledger-writer")

    /// How long a queued settlement waits for company before its transaction starts. 5 ms: at 1,000 requests/s a
    /// transaction takes five or six settlements, and the fewer transactions and timer wake-ups measured lower
    /// latency than 2 ms (p99 −10 %, the ledger thread's CPU per request −35 %) once statements were fixed
    /// (`FixedStatement`); 50 ms held a vCPU too long. A process killed without a graceful shutdown loses at most
    /// this much of its charges.
    static let settlementDelay = TimeAmount.milliseconds(5)

    private func startDeferred() {
        let start = state.withLockedValue { state in
            state.deferred = false
            guard !state.draining, !state.queue.isEmpty else { return false }
            state.draining = true
            return true
        }
        if start { Task(executorPreference: Self.writer) { await self.drain() } }
    }

    /// Returns once every operation queued before this call has been applied.
    func applied() async {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                guard state.applied < state.queued else { return true }
                state.barriers.append((state.queued, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLockedValue { state in
                let batch = Array(state.queue.prefix(Self.maxBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            let outcomes = await apply(batch.map(\.operation))
            for (item, outcome) in zip(batch, outcomes) { item.completion(outcome) }
            let passed = state.withLockedValue { state in
                state.applied += UInt64(batch.count)
                let passed = state.barriers.filter { $0.position <= state.applied }
                state.barriers.removeAll { $0.position <= state.applied }
                return passed
            }
            for barrier in passed { barrier.continuation.resume() }
        }
    }

    private func apply(_ operations: [Operation]) async -> [Result<Bool, any Error>] {
        let ledger = self.ledger
        do {
            let (outcomes, accounts) = try await database.transaction { db in try await Self.applyAll(operations, ledger: ledger, on: db) }
            committed?(accounts)
            return outcomes
        } catch {
            guard operations.count > 1 else { return [.failure(error)] }
            var outcomes: [Result<Bool, any Error>] = []
            for operation in operations { outcomes += await apply([operation]) }
            return outcomes
        }
    }

    /// Every operation in one transaction; outcomes in the operations' order, and each account as it was left.
    private static func applyAll(_ operations: [Operation], ledger: CreditLedger, on db: any SQLDatabase) async throws
        -> ([Result<Bool, any Error>], [String: CreditLedger.Balance])
    {
        var outcomes = [Result<Bool, any Error>](repeating: .success(false), count: operations.count)
        var accounts: [String: CreditLedger.Balance] = [:]
        let byOrg = Dictionary(grouping: operations.indices, by: { operations[$0].orgId })
        for orgId in byOrg.keys.sorted() {
            let locked = try await ledger.lock(orgId: orgId, on: db)
            var account = locked
            for index in byOrg[orgId] ?? [] {
                switch operations[index] {
                case .hold(let hold):
                    if hold.enforce && account.available < hold.amount {
                        outcomes[index] = .failure(CreditHolds.insufficient(needed: hold.amount, available: account.available))
                        continue
                    }
                    account = try await CreditHolds.open(hold, on: db, locked: account)
                    outcomes[index] = .success(true)
                case .settle(let settle):
                    let (charged, after) = try await CreditHolds.settle(settle, ledger: ledger, on: db, locked: account)
                    account = after
                    outcomes[index] = .success(charged)
                }
            }
            if account != locked { try await ledger.store(account, orgId: orgId, on: db) }
            accounts[orgId] = account
        }
        return (outcomes, accounts)
    }
}
