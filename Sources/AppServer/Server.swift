import Billing
import Core
import Gateway
import HTTPServer
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Tenancy

/// `aihigress serve`: the HTTP server and its background services in one service group. SIGTERM or SIGINT stops
/// accepting connections, lets in-flight requests and streams finish within the grace period, then exits.
public enum Server {
    /// The router for every route, and in front of it the gateway's hottest routes as plain calls (`FrontResponder`).
    static func buildResponder(
        runtime: Runtime, identity: Identity, billing: BillingService, authenticator: APIKeyAuthenticator, gateway: GatewayService
    ) -> FrontResponder {
        let edge = EdgeMiddleware(logger: Logger(label: "aihigress.access"))
        let gatewayRoutes = GatewayRoutes(authenticator: authenticator, gateway: gateway, maxBodyBytes: runtime.config.maxBodyBytes)
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: edge)
        HealthRoutes(database: runtime.database, sharedState: runtime.sharedState).register(on: router)
        gatewayRoutes.register(on: router)
        ManagementRoutes.register(
            on: router, identity: identity, keys: authenticator, billing: billing, gateway: gateway, maxBodyBytes: runtime.config.maxBodyBytes
        )
        return FrontResponder(router: router.buildResponder(), edge: edge, direct: gatewayRoutes.directRoutes(), logger: runtime.logger)
    }

    public static func run(config: AppConfig, gatewayEnvironment: GatewayEnvironment) async throws {
        let logger = Logger(label: "aihigress")
        let runtime = try await Runtime.open(config, logger: logger, migrate: config.autoMigrate)
        let authenticator = APIKeyAuthenticator(
            database: runtime.database, keyRing: runtime.keyRing, sharedState: runtime.sharedState, logger: logger
        )
        let identity: Identity
        do {
            identity = try await Identity.open(
                database: runtime.database, keyRing: runtime.keyRing, sharedState: runtime.sharedState, passwords: runtime.passwords,
                settings: config.auth, oauth: config.oauth
            )
        } catch {
            await runtime.close()
            throw error
        }
        // Without Redis this is the only instance: nothing else can place holds on its balances.
        let billing = BillingService(
            database: runtime.database, sharedState: runtime.sharedState, settings: config.billing, payments: config.payments,
            singleInstance: config.redis == nil, logger: logger
        )
        let store = ProviderStore(database: runtime.database, keyRing: runtime.keyRing)
        let gateway = GatewayService(
            store: store, sharedState: runtime.sharedState, environment: gatewayEnvironment, modelsCacheTTL: config.modelsCacheTTL,
            billing: billing, logger: logger
        )
        do {
            try await store.syncEnvironmentProviders(gatewayEnvironment.providers)
            try await runtime.sharedState.publish(ProviderRegistry.invalidationChannel, "env-sync")
            try await gateway.registry.reload()
            try await billing.prices.reload()
        } catch {
            await runtime.close()
            throw error
        }
        let responder = buildResponder(runtime: runtime, identity: identity, billing: billing, authenticator: authenticator, gateway: gateway)
        let app = HTTP1Server(respond: { try await responder.respond($0, $1, $2) }, logger: logger, additionalChannelHandlers: { [ReceiveBufferLimit()] }).server(
            configuration: .init(address: .hostname(config.host, port: config.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                logger.info("listening", metadata: ["host": .string(config.host), "port": .stringConvertible(port)])
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        )
        var groupConfig = ServiceGroupConfiguration(
            services: [.init(service: authenticator, successTerminationBehavior: .ignore), .init(service: billing, successTerminationBehavior: .ignore)]
                + gateway.services.map { .init(service: $0, successTerminationBehavior: .ignore) }
                + [.init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfig.maximumGracefulShutdownDuration = config.shutdownGracePeriod
        groupConfig.maximumCancellationDuration = .seconds(5)
        func release() async {
            await gateway.http.shutdown()
            // Responses do not wait for their charges' commit; the last ones commit before the database closes.
            await billing.holds.settled()
            await runtime.close()
        }
        do {
            try await ServiceGroup(configuration: groupConfig).run()
        } catch {
            await release()
            throw error
        }
        await release()
        logger.info("stopped")
    }
}
