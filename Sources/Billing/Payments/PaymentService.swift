import Core
import Logging

/// Payments as the server sees them: the providers and ledger side (`payments`) and the auto top-up worker.
/// `run()` works the auto top-up queue until shutdown; `BillingService.run()` runs it.
public final class PaymentService: Sendable {
    public let payments: Payments
    public let autoTopUp: AutoTopUp

    public init(database: Database, sharedState: any SharedState, accounts: CreditAccounts, settings: PaymentSettings, logger: Logger) {
        self.payments = Payments(database: database, accounts: accounts, settings: settings, logger: logger)
        self.autoTopUp = AutoTopUp(payments: payments, sharedState: sharedState, logger: logger)
    }

    public var settings: PaymentSettings { payments.settings }

    public func run() async {
        await autoTopUp.run()
    }
}
