import AppServer
import ArgumentParser
import Billing
import Core
import Foundation
import Gateway
import NIOCore
import NIOPosix
import Tenancy

/// Synchronous entry point: NIO's event loops must become Swift concurrency's executor before any task runs
/// (an async `main` is already too late), so request handling and upstream I/O share threads instead of hopping.
@main
enum Entry {
    static func main() {
        // Read here, not with the rest of the configuration: the event loops must exist before any task runs.
        var problems: [String] = []
        let loops = EnvInteger.read(
            AppConfig.mergedProcessEnvironment(), "AIHIGRESS_EVENT_LOOP_THREADS", default: System.coreCount, 1...256, into: &problems)
        guard problems.isEmpty else {
            FileHandle.standardError.write(Data("aihigress: \(ConfigError(problems: problems).description)\n".utf8))
            exit(2)
        }
        NIOSingletons.groupLoopCountSuggestion = loops
        EventLoopGlobalExecutor.install()
        Task {
            await Aihigress.main()
            exit(0)
        }
        // ArgumentParser's async entry runs on the main actor: keep the main queue serving it.
        dispatchMain()
    }
}

struct Aihigress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aihigress",
        abstract: "AI Higress Gateway: one OpenAI-compatible endpoint over many LLM providers, for many organisations.",
        subcommands: [Serve.self, Migrate.self, Admin.self, Keys.self, CreditsCommand.self, Providers.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (migrates first unless AIHIGRESS_AUTO_MIGRATE=false).")

    func run() async throws {
        let (config, gateway) = try loadConfigurations(forServer: true)
        try await reportingFailures { try await Server.run(config: config, gatewayEnvironment: gateway) }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let config = try loadConfiguration(forServer: false)
        try await withRuntime(config, migrate: false) { runtime in
            let applied = try await Migrator(database: runtime.database).migrate()
            printJSON(["applied": .array(applied.map { .int(Int64($0)) })])
        }
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Operator commands.", subcommands: [BootstrapCommand.self])

    struct BootstrapCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bootstrap",
            abstract: "Create (idempotently) a system administrator and an organisation they own; prints {\"user_id\",\"org_id\"}."
        )
        @Option(help: "Administrator email.") var email: String
        @Option(help: "Administrator password (at least 8 characters).") var password: String
        @Option(help: "Organisation slug (lowercase letters, digits, dashes).") var org: String
        @Option(name: .customLong("org-name"), help: "Organisation display name (defaults to the slug).") var orgName: String?

        func run() async throws {
            let config = try loadConfiguration(forServer: false)
            try await withRuntime(config, migrate: config.autoMigrate) { runtime in
                let result = try await Bootstrap(database: runtime.database, passwords: runtime.passwords)
                    .run(email: email, password: password, orgSlug: org, orgName: orgName)
                // The starting balance is granted once per organisation (idempotency key), however often this runs.
                let starting = config.billing.bootstrapCredits
                if starting > .zero {
                    _ = try await CreditAccounts(database: runtime.database).credit(
                        orgId: result.orgId, kind: .grant, amount: starting, reason: "starting balance (admin bootstrap)",
                        idempotencyKey: "bootstrap:\(result.orgId)", actor: .cli
                    )
                }
                printJSON(["user_id": .string(result.userId), "org_id": .string(result.orgId), "starting_credits": .string(starting.description)])
            }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API keys.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key; prints {\"id\",\"key\"}. The key is shown only once.")
        @Option(help: "Organisation slug.") var org: String
        @Option(help: "A name to recognise the key by.") var name: String
        @Option(name: .customLong("expires-in"), help: "Lifetime such as 30d, 12h, 90m or 2w (default: never expires).") var expiresIn: String?
        @Option(help: "Comma-separated models this key may use (default: all the organisation may use).") var models: String?

        func run() async throws {
            let config = try loadConfiguration(forServer: false)
            try await withRuntime(config, migrate: config.autoMigrate) { runtime in
                let seconds = try expiresIn.map { text throws(APIError) in try InputRules.duration(text, field: "expires-in") }
                let modelList = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                let created = try await APIKeys(database: runtime.database, keyRing: runtime.keyRing, sharedState: runtime.sharedState)
                    .create(orgSlug: org, name: name, expiresInSeconds: seconds, allowedModels: modelList, createdBy: nil, actor: .cli)
                printJSON(["id": .string(created.id), "key": .string(created.key), "prefix": .string(created.prefix)])
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key; every instance refuses it within seconds.")
        @Option(help: "The key's id.") var id: String

        func run() async throws {
            let config = try loadConfiguration(forServer: false)
            try await withRuntime(config, migrate: config.autoMigrate) { runtime in
                try await APIKeys(database: runtime.database, keyRing: runtime.keyRing, sharedState: runtime.sharedState)
                    .revoke(id: id, actor: .cli)
                printJSON(["id": .string(id), "revoked": .bool(true)])
            }
        }
    }
}

struct CreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "credits", abstract: "Manage organisations' credits.", subcommands: [Grant.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant credits to an organisation (audited); prints the new balance. --idempotency-key makes retries safe."
        )
        @Option(help: "Organisation slug or id.") var org: String
        @Option(help: "Credits, e.g. 25 or 0.5 (negative only with --kind adjustment).") var amount: String
        @Option(help: "Why, for the ledger and audit log.") var reason: String
        @Option(help: "grant (default), adjustment, refund or top_up.") var kind: String = "grant"
        @Option(name: .customLong("idempotency-key"), help: "Posting the same key twice changes nothing the second time.") var idempotencyKey: String?

        func run() async throws {
            let config = try loadConfiguration(forServer: false)
            try await withRuntime(config, migrate: config.autoMigrate) { runtime in
                guard let credits = Credits(parsing: amount) else {
                    throw APIError.badRequest("--amount must be a decimal number of credits such as 25 or 0.5", param: "amount")
                }
                guard let postingKind = Posting.Kind(rawValue: kind) else {
                    throw APIError.badRequest("--kind must be grant, adjustment, refund or top_up", param: "kind")
                }
                let accounts = CreditAccounts(database: runtime.database)
                let orgId = try await accounts.organizationId(slugOrId: org)
                let posted = try await accounts.credit(
                    orgId: orgId, kind: postingKind, amount: credits, reason: reason,
                    idempotencyKey: idempotencyKey ?? "cli:\(Identifier.make())", actor: .cli
                )
                printJSON([
                    "org_id": .string(orgId), "entry_id": .string(posted.entryId), "applied": .bool(posted.applied),
                    "balance": .string(Credits(micros: posted.balance.balance).description),
                ])
            }
        }
    }
}

struct Providers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Operate upstream providers.", subcommands: [EnableKey.self])

    struct EnableKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable-key", abstract: "Put an upstream key that a provider refused (401/403) back into rotation (audited)."
        )
        @Option(help: "The provider key's id (from the audit entry provider_key.disabled).") var id: String

        func run() async throws {
            let config = try loadConfiguration(forServer: false)
            try await withRuntime(config, migrate: config.autoMigrate) { runtime in
                try await ProviderStore(database: runtime.database, keyRing: runtime.keyRing).enableKey(keyId: id, actor: .cli)
                try await runtime.sharedState.publish(ProviderRegistry.invalidationChannel, "key-enabled")
                printJSON(["id": .string(id), "enabled": .bool(true)])
            }
        }
    }
}
