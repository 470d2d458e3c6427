import Core
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The providers this instance routes to: a snapshot of the database, reloaded every few seconds and at once when
/// another instance announces a change on `invalidate:providers`.
public final class ProviderRegistry: Service, Sendable {
    public static let invalidationChannel = "invalidate:providers"
    private let store: ProviderStore
    private let sharedState: any SharedState
    private let logger: Logger
    private let reloadInterval: Duration
    private let snapshot = NIOLockedValueBox<[ProviderSettings]>([])
    private let logical = NIOLockedValueBox<[LogicalModel]>([])
    let logicalStore: LogicalModelStore

    public init(store: ProviderStore, sharedState: any SharedState, logger: Logger, reloadInterval: Duration = .seconds(10)) {
        self.store = store
        self.logicalStore = LogicalModelStore(database: store.database)
        self.sharedState = sharedState
        self.logger = logger
        self.reloadInterval = reloadInterval
    }

    public var providers: [ProviderSettings] { snapshot.withLockedValue { $0 } }
    /// Logical models of every organisation and the global ones; callers filter by organisation.
    public var logicalModels: [LogicalModel] { logical.withLockedValue { $0 } }

    /// The logical model `name` means for an organisation: its own first, then a global one.
    func logicalModel(named name: String, for orgId: String) -> LogicalModel? {
        let all = logicalModels
        return all.first { $0.orgId == orgId && $0.name == name } ?? all.first { $0.orgId == nil && $0.name == name }
    }

    public func reload() async throws {
        let loaded = try await store.loadAll()
        let models = try await logicalStore.loadAll()
        snapshot.withLockedValue { $0 = loaded }
        logical.withLockedValue { $0 = models }
    }

    /// Reloads here and tells every other instance to reload.
    func changed() async throws {
        try await reload()
        try await sharedState.publish(Self.invalidationChannel, "changed")
    }

    public func run() async throws {
        let events = try await sharedState.subscribe(Self.invalidationChannel)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in events.cancelOnGracefulShutdown() { await self.reloadLogging() }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    do { try await Task.sleep(for: self.reloadInterval) } catch { return }
                    await self.reloadLogging()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func reloadLogging() async {
        do {
            try await reload()
        } catch where !Task.isCancelled {
            logger.warning("could not reload providers; keeping the previous list", metadata: ["error": .string("\(error)")])
        } catch {
            // Cancelled by shutdown: the previous list is kept and there is nothing to report.
        }
    }
}

import Foundation
