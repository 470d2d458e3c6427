import Core
import SQLKit

/// Group commit for the two postings every proxied request makes: its hold and its settlement. Operations that
/// arrive while a transaction is running wait for the next one, which applies all of them in arrival order
/// (organisations locked once each, in sorted order so concurrent batches cannot deadlock), writes each account
/// once and commits once. Under load a request pays a share of one transaction instead of two of its own; with no
/// concurrency nothing waits longer than before. One item's refusal (402) does not touch the others; a database
/// error retries each item of the batch in a transaction of its own, so one bad item cannot fail its neighbours.
actor LedgerBatcher {
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

    private let database: Database
    private let ledger = CreditLedger()
    private var queue: [(Operation, CheckedContinuation<Bool, any Error>)] = []
    private var draining = false
    static let maxBatch = 256

    init(database: Database) {
        self.database = database
    }

    /// Applies the operation in the next transaction. Holds answer true; settlements whether they charged.
    func submit(_ operation: Operation) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((operation, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(Self.maxBatch))
            queue.removeFirst(batch.count)
            let outcomes = await apply(batch.map(\.0))
            for ((_, continuation), outcome) in zip(batch, outcomes) { continuation.resume(with: outcome) }
        }
        draining = false
    }

    private func apply(_ operations: [Operation]) async -> [Result<Bool, any Error>] {
        let ledger = self.ledger
        do {
            return try await database.transaction { db in try await Self.applyAll(operations, ledger: ledger, on: db) }
        } catch {
            guard operations.count > 1 else { return [.failure(error)] }
            var outcomes: [Result<Bool, any Error>] = []
            for operation in operations { outcomes += await apply([operation]) }
            return outcomes
        }
    }

    /// Every operation in one transaction; outcomes in the operations' order.
    private static func applyAll(_ operations: [Operation], ledger: CreditLedger, on db: any SQLDatabase) async throws -> [Result<Bool, any Error>] {
        var outcomes = [Result<Bool, any Error>](repeating: .success(false), count: operations.count)
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
        }
        return outcomes
    }
}
