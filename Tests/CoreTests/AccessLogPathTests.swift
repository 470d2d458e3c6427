import Testing
@testable import Core

@Suite struct AccessLogPathTests {
    @Test func invitationTokensNeverReachTheAccessLog() {
        #expect(EdgeMiddleware.loggablePath("/invitations/ahi-secret123/accept") == "/invitations/[redacted]/accept")
        #expect(EdgeMiddleware.loggablePath("/invitations/ahi-secret123") == "/invitations/[redacted]")
        #expect(EdgeMiddleware.loggablePath("/orgs/acme/invitations") == "/orgs/acme/invitations")
        #expect(EdgeMiddleware.loggablePath("/v1/chat/completions") == "/v1/chat/completions")
    }
}
