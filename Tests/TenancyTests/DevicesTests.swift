import Core
import SQLKit
import Testing
import TestSupport
@testable import Tenancy

@Suite struct DevicesTests {
    @Test func aKnownDeviceOnANewNetworkIsNoticedButNotANewAddressInTheSameNetwork() async throws {
        try await TestDatabase.withMigrated { database in
            let devices = Devices(keyRing: KeyRing(secret: TestEnvironment.secret))
            let user = try await database.transaction { db in
                try await Directory().createUser(email: "d@example.com", passwordHash: nil, systemAdmin: false, on: db)
            }
            func see(_ ip: String, agent: String = "Browser/1", token: String = "device-token-1234567890") async throws -> Devices.Sighting {
                try await database.transaction { db in
                    try await devices.record(userId: user.id, deviceToken: token, client: ClientInfo(ip: ip, userAgent: agent), on: db)
                }
            }
            let first = try await see("203.0.113.10")
            #expect(first.isNewDevice)
            let sameNetwork = try await see("203.0.113.77")
            #expect(!sameNetwork.isNewDevice && !sameNetwork.isNewNetwork)
            #expect(sameNetwork.deviceId == first.deviceId)
            let otherNetwork = try await see("198.51.100.4")
            #expect(!otherNetwork.isNewDevice && otherNetwork.isNewNetwork)
            // The same cookie from another browser is another device: a copied cookie does not pass as known.
            #expect(try await see("198.51.100.4", agent: "Other/2").isNewDevice)
            #expect(try await see("2001:db8:1:2::5", token: "device-token-abcdefghij").isNewDevice)
            #expect(Devices.network(of: "2001:db8:1:2::5") == "2001:db8:1:2::/64")
            #expect(Devices.network(of: "10.1.2.3") == "10.1.2.0/24")
            // Nothing identifying is stored in the clear.
            let stored = try await database.query("SELECT fingerprint FROM devices WHERE user_id = \(bind: user.id)")
            #expect(try stored.allSatisfy { try !$0.decode(column: "fingerprint", as: String.self).contains("device-token") })
        }
    }
}
