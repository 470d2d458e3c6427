import Core
import SQLKit

/// The devices a user signs in from. A device is recognised by a fingerprint of the long-lived device cookie
/// (or `X-Device-Id`) plus the user agent, so a stolen cookie replayed from another browser counts as new.
public struct Devices: Sendable {
    public struct Sighting: Sendable, Equatable {
        public let deviceId: String
        public let isNewDevice: Bool
        /// A known device seen from a network it has not used before.
        public let isNewNetwork: Bool
    }

    private let keyRing: KeyRing

    public init(keyRing: KeyRing) {
        self.keyRing = keyRing
    }

    public func record(userId: String, deviceToken: String, client: ClientInfo, on db: any SQLDatabase) async throws -> Sighting {
        let fingerprint = keyRing.hash("\(deviceToken)|\(client.userAgent ?? "")", purpose: .tokenHash)
        let network = client.ip.map { Self.network(of: $0) }
        let now = EpochMillis.now()
        if let row = try await db.raw(
            "SELECT id, last_network FROM devices WHERE user_id = \(bind: userId) AND fingerprint = \(bind: fingerprint)"
        ).first() {
            let id = try row.decode(column: "id", as: String.self)
            let previous = try row.decode(column: "last_network", as: String?.self)
            try await db.raw(
                """
                UPDATE devices SET last_seen_at = \(bind: now), last_ip = \(bind: client.ip), last_network = \(bind: network)
                WHERE id = \(bind: id)
                """
            ).run()
            return Sighting(deviceId: id, isNewDevice: false, isNewNetwork: network != nil && previous != nil && network != previous)
        }
        let id = Identifier.make()
        try await db.raw(
            """
            INSERT INTO devices (id, user_id, fingerprint, user_agent, first_seen_at, last_seen_at, last_ip, last_network)
            VALUES (\(bind: id), \(bind: userId), \(bind: fingerprint), \(bind: client.userAgent), \(bind: now), \(bind: now),
                    \(bind: client.ip), \(bind: network))
            """
        ).run()
        return Sighting(deviceId: id, isNewDevice: true, isNewNetwork: false)
    }

    /// The network an address belongs to for "new network" checks: IPv4 /24, IPv6 /64.
    public static func network(of ip: String) -> String {
        if ip.contains(":") {
            let groups = ip.split(separator: ":", omittingEmptySubsequences: false).prefix(4)
            return groups.joined(separator: ":") + "::/64"
        }
        let octets = ip.split(separator: ".")
        guard octets.count == 4 else { return ip }
        return octets.prefix(3).joined(separator: ".") + ".0/24"
    }
}
