import Core
import HTTPTypes
import Hummingbird

/// `/auth/oauth/…`: sign-in and account linking with OAuth 2.0 / OpenID Connect providers.
///
/// The callback answers browsers with the session cookies and a 302 to `return_to` (default `/`); a client that
/// sends `Accept: application/json` to the callback gets the token JSON of `POST /auth/login` instead (or
/// `{"linked": true, …}` after linking).
public struct OAuthRoutes: Sendable {
    private let identity: Identity

    public init(identity: Identity) {
        self.identity = identity
    }

    public func register(on api: ManagementRouter) {
        let tag = "auth"
        let oauth = identity.oauth
        api.add(.get, "/auth/oauth/providers", access: .anyone, tag: tag, summary: "Configured sign-in providers") { _ in
            JSONResponse.object([
                "data": .array(oauth.settings.providers.map { provider in
                    .object([
                        "name": .string(provider.name), "kind": .string(provider.kind.rawValue),
                        "authorize_url": .string("/auth/oauth/\(provider.name)/authorize"),
                    ])
                })
            ])
        }
        api.add(.get, "/auth/oauth/{provider}/authorize", access: .anyone, tag: tag,
                summary: "Start signing in with a provider: 302 to the provider (optional ?return_to=/path)", status: .found) { call in
            let url = try await oauth.authorizationURL(
                provider: try call.parameter("provider"), redirectBase: try redirectBase(call),
                returnTo: try OAuthLogin.safeReturnPath(call.query("return_to")), linkUserId: nil
            )
            return Self.redirect(to: url)
        }
        api.add(.get, "/auth/oauth/{provider}/callback", access: .anyone, tag: tag,
                summary: "Where the provider returns: signs in (cookies + 302, or token JSON with Accept: application/json)",
                status: .found) { call in
            let device = identity.cookies.deviceToken(for: call.request)
            let outcome = try await oauth.complete(
                provider: try call.parameter("provider"), code: call.query("code"), state: call.query("state"),
                providerError: call.query("error"), client: call.client, deviceToken: device.token
            )
            let wantsJSON = call.request.headers[.accept]?.lowercased().contains("application/json") == true
            var response: Response
            switch outcome {
            case .signedIn(let tokens, let returnTo):
                if wantsJSON {
                    response = JSONResponse.make(tokens.json)
                } else {
                    response = Self.redirect(to: returnTo)
                    identity.cookies.set(tokens, accessLifetime: identity.tokens.lifetime, on: &response)
                }
            case .linked(let userId, let returnTo):
                let provider = try call.parameter("provider").lowercased()
                response = wantsJSON
                    ? JSONResponse.object(["linked": true, "provider": .string(provider), "user_id": .string(userId)])
                    : Self.redirect(to: returnTo)
            }
            if let cookie = device.newCookie { response.setCookie(cookie) }
            return response
        }
        api.add(.post, "/auth/oauth/{provider}/link", access: .signedIn, tag: tag,
                summary: "Link a provider to the signed-in account: returns the provider URL to visit", body: Schemas.oauthLink) { call in
            var call = call
            let body = try await call.optionalBody()
            let url = try await oauth.authorizationURL(
                provider: try call.parameter("provider"), redirectBase: try redirectBase(call),
                returnTo: try OAuthLogin.safeReturnPath(try body.string("return_to")), linkUserId: try call.user().userId
            )
            return JSONResponse.object(["authorize_url": .string(url)])
        }
    }

    /// `AIHIGRESS_PUBLIC_URL`, or the origin the client used (development; set the public URL in production).
    private func redirectBase(_ call: ManagementCall) throws(APIError) -> String {
        if let publicURL = identity.settings.publicURL { return publicURL }
        guard let host = call.request.head.authority, (1...255).contains(host.utf8.count),
            host.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x3A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x2D || $0 == 0x5B || $0 == 0x5D })
        else { throw APIError.badRequest("the request has no usable Host header; set AIHIGRESS_PUBLIC_URL", code: "missing_host") }
        return "http://\(host)"
    }

    static func redirect(to location: String) -> Response {
        Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }
}

extension Schemas {
    static let oauthLink = object(["return_to": string])
}
