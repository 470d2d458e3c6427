import Core
import Tenancy

/// An upstream key the provider refused (401/403) is taken out of rotation until an operator re-enables it,
/// with an audit entry; every instance reloads its providers at once.
extension ProviderStore {
    /// Returns whether this call disabled it (false when it already was).
    @discardableResult
    public func disableKey(providerId: String, keyId: String, upstreamStatus: Int, ownerOrgId: String?) async throws -> Bool {
        try await database.transaction { db in
            let rows = try await db.raw(
                """
                UPDATE provider_keys SET status = 'disabled' WHERE id = \(bind: keyId) AND provider_id = \(bind: providerId) AND status = 'active'
                RETURNING id
                """
            ).all()
            guard !rows.isEmpty else { return false }
            try await AuditLog().append(
                .init(orgId: ownerOrgId, actor: .system, action: "provider_key.disabled", targetKind: "provider_key", targetId: keyId,
                      details: ["provider_id": .string(providerId), "upstream_status": .int(Int64(upstreamStatus)),
                                "reason": "the provider refused this key; re-enable it once fixed"]),
                on: db
            )
            return true
        }
    }

    /// Puts a disabled key back into rotation (operator action, audited).
    public func enableKey(keyId: String, actor: Actor) async throws {
        try await database.transaction { db in
            guard let row = try await db.raw(
                "UPDATE provider_keys SET status = 'active' WHERE id = \(bind: keyId) RETURNING provider_id"
            ).first() else {
                throw APIError.notFound("provider key '\(keyId)' not found", code: "provider_key_not_found")
            }
            try await AuditLog().append(
                .init(orgId: nil, actor: actor, action: "provider_key.enabled", targetKind: "provider_key", targetId: keyId,
                      details: ["provider_id": .string(try row.decode(column: "provider_id", as: String.self))]),
                on: db
            )
        }
    }
}
