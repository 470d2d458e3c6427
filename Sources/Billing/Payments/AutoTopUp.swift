import Core
import Logging
import Synchronization

/// Auto top-up: when a charge leaves an organisation's balance below its threshold, buy the configured amount —
/// asynchronously, off the request path, exactly once per threshold crossing even with many concurrent requests
/// and several instances.
///
/// `noteCharge` only queues the organisation (coalesced: at most one queued evaluation per organisation; the
/// queue is bounded). The evaluation reads the profile and balance; below the threshold it takes the shared
/// marker `topup:<org>` with `setIfAbsent` (one winner across instances), re-reads the balance (a top-up that
/// finished just before is visible now), counts the day with `incrementIfWithin(limit: max_per_day)` under
/// `topup-day:<org>:<UTC day number>`, and collects the payment (retries with backoff in `Payments.collect`).
/// The marker is cleared when the top-up's own credit left the balance at or above the threshold; otherwise
/// (declined, failed, processing, too small) it stays (`done:`) until an evaluation sees the balance recover. The
/// next fall is a new crossing. An in-flight marker expires after an hour should its instance die.
public final class AutoTopUp: Sendable {
    let payments: Payments
    let sharedState: any SharedState
    let logger: Logger
    private let queue: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let queued = Mutex<Set<String>>([])
    /// Organisations whose rule was read as off, and when: their charges queue nothing for `offLifetime` (without
    /// this every charge read the rule from the database). A rule changed here is seen at once (`ruleChanged`),
    /// one changed on another instance within `offLifetime`.
    private let off = Mutex<[String: ContinuousClock.Instant]>([:])
    static let offLifetime: Duration = .seconds(5)
    static let maxConcurrentEvaluations = 32
    static let inFlightLifetime: Duration = .seconds(3600)
    static let doneLifetime: Duration = .seconds(86_400)

    init(payments: Payments, sharedState: any SharedState, logger: Logger) {
        self.payments = payments
        self.sharedState = sharedState
        self.logger = logger
        (queue, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(10_000))
    }

    static func marker(_ orgId: String) -> String { "topup:\(orgId)" }
    static func dayCounter(_ orgId: String, now: Int64 = EpochMillis.now()) -> String { "topup-day:\(orgId):\(now / 86_400_000)" }

    /// Called after a charge (or a change of the rule): queues an evaluation. Never blocks, never throws.
    public func noteCharge(orgId: String) {
        let now = ContinuousClock.now
        if let seen = off.withLock({ $0[orgId] }), seen.duration(to: now) < Self.offLifetime { return }
        guard queued.withLock({ $0.insert(orgId).inserted }) else { return }
        if case .dropped = continuation.yield(orgId) {
            _ = queued.withLock { $0.remove(orgId) }
            logger.warning("auto top-up queue full; evaluation dropped", metadata: ["org_id": .string(orgId)])
        }
    }

    /// The organisation's rule changed on this instance: evaluate it now (enabled while already below the threshold
    /// counts as a crossing).
    public func ruleChanged(orgId: String) {
        _ = off.withLock { $0.removeValue(forKey: orgId) }
        noteCharge(orgId: orgId)
    }

    /// Works the queue until cancelled (shutdown).
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await orgId in queue {
                _ = queued.withLock { $0.remove(orgId) }
                if running >= Self.maxConcurrentEvaluations {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask { [self] in await evaluate(orgId: orgId) }
            }
            group.cancelAll()
        }
    }

    /// One evaluation; safe to run any number of times concurrently, on any instance.
    func evaluate(orgId: String) async {
        let marker = Self.marker(orgId)
        var token: String?
        do {
            guard let state = try await load(orgId) else { return }
            if state.balance >= state.profile.threshold {
                // Back at or above the threshold: the next fall is a new crossing. An in-flight top-up clears its own marker.
                if let value = try await sharedState.get(marker), value.hasPrefix("done:") {
                    _ = try await sharedState.compareAndSet(marker, expected: value, new: nil, ttl: nil)
                }
                return
            }
            let mine = "inflight:\(Identifier.make())"
            guard try await sharedState.setIfAbsent(marker, mine, ttl: Self.inFlightLifetime) else { return }
            token = mine
            guard let fresh = try await load(orgId), fresh.balance < fresh.profile.threshold else {
                _ = try await sharedState.compareAndSet(marker, expected: mine, new: nil, ttl: nil)
                return
            }
            let profile = fresh.profile
            let details: [String: JSONValue] = [
                "threshold": .string(Credits(micros: profile.threshold).description), "amount": .string(Credits(micros: profile.amount).description),
                "balance": .string(Credits(micros: fresh.balance).description), "max_per_day": .int(Int64(profile.maxPerDay)),
            ]
            let today = try await sharedState.incrementIfWithin(
                Self.dayCounter(orgId), by: 1, limit: profile.maxPerDay, ttl: .seconds(2 * 86_400)
            )
            // Whether this crossing ended with the balance back at or above the threshold: judged at the moment
            // the top-up was credited (its ledger entry's balance), not after later spending.
            var recovered: Bool?
            if today.applied {
                let (payment, _) = try await payments.create(
                    orgId: orgId, amount: Credits(micros: profile.amount), kind: .autoTopUp, provider: profile.provider,
                    key: "auto_topup:\(mine)", actor: .system
                )
                // From here the crossing is spent: an error below must not let another top-up start for it.
                token = nil
                let done = await payments.collect(payment, profile: profile)
                logger.notice("auto top-up", metadata: [
                    "org_id": .string(orgId), "payment_id": .string(done.id), "status": .string(done.status.rawValue),
                ])
                if done.status == .succeeded, let entry = done.ledgerEntryId,
                    let balanceAfter = try await payments.balanceAfter(entryId: entry, orgId: orgId)
                {
                    recovered = balanceAfter >= profile.threshold
                }
            } else {
                try await payments.autoTopUpRefused(
                    orgId: orgId, reason: "the daily limit of \(profile.maxPerDay) auto top-up(s) is reached", details: details
                )
                token = nil
            }
            // Still below the threshold: the marker stays (`done:`) until an evaluation sees the balance recover.
            if recovered == nil {
                let after = try await load(orgId)
                recovered = after.map { $0.balance >= $0.profile.threshold } ?? true
            }
            _ = try await sharedState.compareAndSet(
                marker, expected: mine, new: recovered == true ? nil : "done:\(mine.dropFirst("inflight:".count))", ttl: Self.doneLifetime
            )
        } catch {
            logger.error("auto top-up evaluation failed", metadata: ["org_id": .string(orgId), "error": "\(error)"])
            // Before a payment exists, let a later charge try again; after, the payment's own record stands.
            if let token { _ = try? await sharedState.compareAndSet(marker, expected: token, new: nil, ttl: nil) }
        }
    }

    private struct State {
        let profile: BillingProfile
        let balance: Int64
    }

    /// The organisation's rule and settled balance, or nil when auto top-up is off.
    private func load(_ orgId: String) async throws -> State? {
        let profile = try await payments.profile(orgId: orgId)
        guard profile.autoTopUpEnabled, profile.amount > 0 else {
            let now = ContinuousClock.now
            off.withLock { off in
                // Bounded: entries past their lifetime are dropped when the table grows large.
                if off.count >= 10_000 { off = off.filter { $0.value.duration(to: now) < Self.offLifetime } }
                off[orgId] = now
            }
            return nil
        }
        _ = off.withLock { $0.removeValue(forKey: orgId) }
        let balance = try await payments.database.withConnection { db in try await CreditLedger().balance(orgId: orgId, on: db) }
        return State(profile: profile, balance: balance.balance)
    }
}
