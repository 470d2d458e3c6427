import Core
import Logging
import ServiceLifecycle

/// Billing as the rest of the server sees it: ledger, holds, prices and the mode. Its `run()` expires overdue
/// holds and keeps the price book fresh.
public final class BillingService: Service, Sendable {
    public let settings: BillingSettings
    public let holds: CreditHolds
    public let prices: PriceBook
    public let accounts: CreditAccounts
    /// Payments and auto top-up.
    public let payments: PaymentService
    public let quotas: QuotaService
    public let database: Database
    private let sharedState: any SharedState
    private let logger: Logger
    private let sweepInterval: Duration

    /// `singleInstance`: no other instance shares the database, so holds are kept in memory (`CreditHolds`).
    public init(
        database: Database, sharedState: any SharedState, settings: BillingSettings, payments: PaymentSettings = PaymentSettings(),
        singleInstance: Bool = false, logger: Logger
    ) {
        self.database = database
        self.sharedState = sharedState
        self.settings = settings
        let holds = CreditHolds(database: database, inMemory: singleInstance)
        self.holds = holds
        self.prices = PriceBook(database: database, settings: settings)
        self.accounts = CreditAccounts(database: database, changed: { holds.balanceChanged(orgId: $0) })
        self.payments = PaymentService(database: database, sharedState: sharedState, accounts: accounts, settings: payments, logger: logger)
        self.quotas = QuotaService(database: database, sharedState: sharedState, enforceBudgets: settings.mode == .enforce, logger: logger)
        self.logger = logger
        // Often enough that an expired hold is released within a third of its lifetime, at most every 15 s.
        self.sweepInterval = min(.seconds(15), settings.holdLifetime / 3)
    }

    public func run() async throws {
        let invalidations = try await sharedState.subscribe(PriceBook.invalidationChannel)
        let limitChanges = try await sharedState.subscribe(QuotaService.invalidationChannel)
        // Both loops end when shutdown begins (cancellation), so the service group can finish.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    for await _ in invalidations { await reloadPrices() }
                }
                group.addTask { [quotas = self.quotas] in
                    for await event in limitChanges {
                        if case .message(let orgId) = event { quotas.forget(orgId: orgId) }
                    }
                }
                group.addTask { [payments = self.payments] in await payments.run() }
                group.addTask { [self] in
                    while !Task.isCancelled {
                        await sweep()
                        try? await Task.sleep(for: sweepInterval)
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Publishes a price change so every instance reloads.
    public func pricesChanged() async throws {
        try await prices.reload()
        try await sharedState.publish(PriceBook.invalidationChannel, "changed")
    }

    private func reloadPrices() async {
        do { try await prices.reload() } catch { logger.warning("price book reload failed", metadata: ["error": "\(error)"]) }
    }

    private func sweep() async {
        await reloadPrices()
        do {
            let released = try await holds.expireOverdue()
            if released > 0 { logger.notice("released expired credit holds", metadata: ["count": .stringConvertible(released)]) }
        } catch {
            logger.warning("hold expiry sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
