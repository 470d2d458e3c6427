import Core
import SQLKit

/// Reads and writes providers and their keys. Upstream keys and extra headers (which may hold credentials)
/// are sealed with `SecretBox`; a fingerprint (HMAC) identifies a key without decrypting it.
public struct ProviderStore: Sendable {
    let database: Database
    private let secrets: SecretBox
    private let keyRing: KeyRing

    public init(database: Database, keyRing: KeyRing) {
        self.database = database
        self.secrets = SecretBox(keyRing: keyRing)
        self.keyRing = keyRing
    }

    /// Makes the database match the providers declared in the environment: created or updated by slug, keys
    /// replaced, and environment providers no longer declared set `offline`.
    public func syncEnvironmentProviders(_ declared: [ProviderSettings]) async throws {
        let secrets = self.secrets
        let keyRing = self.keyRing
        try await database.transaction { db in
            let now = EpochMillis.now()
            for provider in declared {
                let existing = try await db.raw("SELECT id, source FROM providers WHERE slug = \(bind: provider.slug)").first()
                let headers = try secrets.seal(JSONText.object(provider.extraHeaders.mapValues(JSONValue.string)))
                let id: String
                if let existing {
                    guard try existing.decode(column: "source", as: String.self) == "env" else {
                        throw APIError.conflict("provider slug '\(provider.slug)' is already used by a provider created through the API")
                    }
                    id = try existing.decode(column: "id", as: String.self)
                    try await Self.update(provider, id: id, now: now, sealedHeaders: headers, on: db)
                } else {
                    id = Identifier.make()
                    try await Self.insert(provider, id: id, now: now, sealedHeaders: headers, on: db)
                }
                // Keys keep their ids across restarts (matched by fingerprint) so per-key state survives.
                let fingerprints = provider.keys.map { keyRing.hash($0.secret, purpose: .tokenHash) }
                var stored = Set<String>()
                for row in try await db.raw("SELECT id, fingerprint FROM provider_keys WHERE provider_id = \(bind: id)").all() {
                    let fingerprint = try row.decode(column: "fingerprint", as: String.self)
                    if let index = fingerprints.firstIndex(of: fingerprint) {
                        stored.insert(fingerprint)
                        // The environment owns its keys' settings (weight, QPS), never their status.
                        let key = provider.keys[index]
                        try await db.raw(
                            """
                            UPDATE provider_keys SET weight = \(bind: key.weight), max_qps = \(bind: key.maxQPS)
                            WHERE id = \(bind: try row.decode(column: "id", as: String.self))
                            """
                        ).run()
                    } else {
                        try await db.raw("DELETE FROM provider_keys WHERE id = \(bind: try row.decode(column: "id", as: String.self))").run()
                    }
                }
                for (key, fingerprint) in zip(provider.keys, fingerprints) where !stored.contains(fingerprint) {
                    stored.insert(fingerprint)
                    try await db.raw(
                        """
                        INSERT INTO provider_keys (id, provider_id, label, secret, fingerprint, weight, max_qps, status, created_at)
                        VALUES (\(bind: Identifier.make()), \(bind: id), \(bind: key.label), \(bind: try secrets.seal(key.secret)),
                                \(bind: fingerprint), \(bind: key.weight), \(bind: key.maxQPS), 'active', \(bind: now))
                        """
                    ).run()
                }
            }
            let slugs = declared.map(\.slug)
            for row in try await db.raw("SELECT id, slug FROM providers WHERE source = 'env'").all() {
                let slug = try row.decode(column: "slug", as: String.self)
                if !slugs.contains(slug) {
                    try await db.raw(
                        "UPDATE providers SET status = 'offline', updated_at = \(bind: now) WHERE id = \(bind: try row.decode(column: "id", as: String.self))"
                    ).run()
                }
            }
        }
    }

    private static func insert(_ p: ProviderSettings, id: String, now: Int64, sealedHeaders: String, on db: any SQLDatabase) async throws {
        let staticModels = p.staticModels.map { JSONText.render(.array($0.map(JSONValue.string))) }
        let retryable = JSONText.render(.array(p.retryableStatusCodes.sorted().map { .int(Int64($0)) }))
        try await db.raw(
            """
            INSERT INTO providers (id, slug, name, kind, base_url, owner_org_id, status, approval, source, weight, region,
                models_path, static_models, max_qps, retryable_status_codes, extra_headers, auth_header, chat_path,
                responses_path, messages_path, embeddings_path, images_path, connect_timeout_ms, first_byte_timeout_ms,
                read_timeout_ms, billing_factor_bp, model_aliases, created_at, updated_at)
            VALUES (\(bind: id), \(bind: p.slug), \(bind: p.name), \(bind: p.kind.rawValue), \(bind: p.baseURL), \(bind: p.ownerOrgId),
                \(bind: p.status), \(bind: p.approval), 'env', \(bind: p.weight), \(bind: p.region), \(bind: p.modelsPath),
                \(bind: staticModels), \(bind: p.maxQPS), \(bind: retryable), \(bind: sealedHeaders), \(bind: p.authHeader),
                \(bind: p.chatPath), \(bind: p.responsesPath), \(bind: p.messagesPath), \(bind: p.embeddingsPath),
                \(bind: p.imagesPath), \(bind: p.connectTimeout.wholeMilliseconds), \(bind: p.firstByteTimeout.wholeMilliseconds),
                \(bind: p.readTimeout.wholeMilliseconds), \(bind: p.billingFactorBasisPoints), \(bind: Self.aliasText(p)), \(bind: now),
                \(bind: now))
            """
        ).run()
    }

    /// Aliases as stored: a JSON object, or NULL when there are none.
    private static func aliasText(_ p: ProviderSettings) -> String? {
        p.modelAliases.isEmpty ? nil : JSONText.render(.object(p.modelAliases.mapValues(JSONValue.string)))
    }

    private static func update(_ p: ProviderSettings, id: String, now: Int64, sealedHeaders: String, on db: any SQLDatabase) async throws {
        let staticModels = p.staticModels.map { JSONText.render(.array($0.map(JSONValue.string))) }
        let retryable = JSONText.render(.array(p.retryableStatusCodes.sorted().map { .int(Int64($0)) }))
        try await db.raw(
            """
            UPDATE providers SET name = \(bind: p.name), kind = \(bind: p.kind.rawValue), base_url = \(bind: p.baseURL),
                status = 'active', weight = \(bind: p.weight), region = \(bind: p.region), models_path = \(bind: p.modelsPath),
                static_models = \(bind: staticModels), max_qps = \(bind: p.maxQPS), retryable_status_codes = \(bind: retryable),
                extra_headers = \(bind: sealedHeaders), auth_header = \(bind: p.authHeader), chat_path = \(bind: p.chatPath),
                responses_path = \(bind: p.responsesPath), messages_path = \(bind: p.messagesPath),
                embeddings_path = \(bind: p.embeddingsPath), images_path = \(bind: p.imagesPath),
                connect_timeout_ms = \(bind: p.connectTimeout.wholeMilliseconds),
                first_byte_timeout_ms = \(bind: p.firstByteTimeout.wholeMilliseconds),
                read_timeout_ms = \(bind: p.readTimeout.wholeMilliseconds), billing_factor_bp = \(bind: p.billingFactorBasisPoints),
                model_aliases = \(bind: Self.aliasText(p)), updated_at = \(bind: now)
            WHERE id = \(bind: id)
            """
        ).run()
    }

    /// Every provider with its active keys, secrets decrypted.
    public func loadAll() async throws -> [ProviderSettings] {
        let rows = try await database.query("SELECT * FROM providers ORDER BY slug")
        let keyRows = try await database.query("SELECT * FROM provider_keys WHERE status = 'active' ORDER BY created_at, id")
        var keys: [String: [UpstreamKey]] = [:]
        for row in keyRows {
            let key = UpstreamKey(
                id: try row.decode(column: "id", as: String.self),
                label: try row.decode(column: "label", as: String.self),
                secret: try secrets.open(try row.decode(column: "secret", as: String.self)),
                weight: try row.decode(column: "weight", as: Double.self),
                maxQPS: try row.decode(column: "max_qps", as: Int?.self)
            )
            keys[try row.decode(column: "provider_id", as: String.self), default: []].append(key)
        }
        return try rows.map { try decode($0, keys: keys) }
    }

    private func decode(_ row: any SQLRow, keys: [String: [UpstreamKey]]) throws -> ProviderSettings {
        let id = try row.decode(column: "id", as: String.self)
        let kind = ProviderKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .openai
        var headers: [String: String] = [:]
        if let sealed = try row.decode(column: "extra_headers", as: String?.self),
            case .object(let o) = try JSONText.parse(Array(try secrets.open(sealed).utf8))
        {
            headers = o.compactMapValues(\.stringValue)
        }
        let staticModels = try row.decode(column: "static_models", as: String?.self).flatMap { text in
            (try? JSONText.parse(Array(text.utf8)))?.arrayValue?.compactMap(\.stringValue)
        }
        let retryable = try row.decode(column: "retryable_status_codes", as: String?.self).flatMap { text in
            (try? JSONText.parse(Array(text.utf8)))?.arrayValue?.compactMap { $0.intValue.map(Int.init) }
        }
        func millis(_ column: String, _ fallback: Int64) throws -> Duration {
            .milliseconds(try row.decode(column: column, as: Int64?.self) ?? fallback)
        }
        return ProviderSettings(
            id: id,
            slug: try row.decode(column: "slug", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            kind: kind,
            baseURL: try row.decode(column: "base_url", as: String.self),
            ownerOrgId: try row.decode(column: "owner_org_id", as: String?.self),
            status: try row.decode(column: "status", as: String.self),
            approval: try row.decode(column: "approval", as: String.self),
            weight: try row.decode(column: "weight", as: Double.self),
            region: try row.decode(column: "region", as: String?.self),
            modelsPath: try row.decode(column: "models_path", as: String?.self) ?? kind.defaultModelsPath,
            staticModels: staticModels,
            maxQPS: try row.decode(column: "max_qps", as: Int?.self),
            retryableStatusCodes: retryable.map(Set.init) ?? ProviderSettings.defaultRetryable,
            extraHeaders: headers,
            authHeader: try row.decode(column: "auth_header", as: String?.self) ?? kind.defaultAuthHeader,
            chatPath: try row.decode(column: "chat_path", as: String?.self) ?? "/v1/chat/completions",
            responsesPath: try row.decode(column: "responses_path", as: String?.self),
            messagesPath: try row.decode(column: "messages_path", as: String?.self) ?? "/v1/messages",
            embeddingsPath: try row.decode(column: "embeddings_path", as: String?.self) ?? "/v1/embeddings",
            imagesPath: try row.decode(column: "images_path", as: String?.self) ?? "/v1/images/generations",
            connectTimeout: try millis("connect_timeout_ms", 10_000),
            firstByteTimeout: try millis("first_byte_timeout_ms", 120_000),
            readTimeout: try millis("read_timeout_ms", 300_000),
            keys: keys[id] ?? [],
            billingFactorBasisPoints: try row.decode(column: "billing_factor_bp", as: Int.self),
            modelAliases: (try row.decode(column: "model_aliases", as: String?.self)).flatMap { try? JSONText.parse(Array($0.utf8)) }?
                .objectValue?.compactMapValues(\.stringValue) ?? [:]
        )
    }
}
