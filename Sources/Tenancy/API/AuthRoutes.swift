import Core
import Hummingbird

/// `/auth/…`: register, login, refresh, logout, the signed-in user's profile, sessions and notifications.
public struct AuthRoutes: Sendable {
    private let identity: Identity

    public init(identity: Identity) {
        self.identity = identity
    }

    public func register(on api: ManagementRouter) {
        let tag = "auth"
        api.add(.post, "/auth/register", access: .anyone, tag: tag, summary: "Create an account (open registration or with an invitation)",
                body: Schemas.register, status: .created) { call in
            var call = call
            let body = try await call.body()
            let device = identity.cookies.deviceToken(for: call.request)
            let tokens = try await identity.accounts.register(
                .init(email: try body.requiredString("email"), password: try body.requiredString("password"),
                      displayName: try body.string("display_name"), invitationToken: try body.string("invitation_token")),
                client: call.client, deviceToken: device.token
            )
            return try respond(tokens, useCookies: body.bool("use_cookies") ?? false, device: device.newCookie, status: .created)
        }
        api.add(.post, "/auth/login", access: .anyone, tag: tag, summary: "Sign in with email and password", body: Schemas.login) { call in
            var call = call
            let body = try await call.body()
            let device = identity.cookies.deviceToken(for: call.request)
            let tokens = try await identity.accounts.login(
                email: try body.requiredString("email"), password: try body.requiredString("password"), client: call.client, deviceToken: device.token
            )
            return try respond(tokens, useCookies: body.bool("use_cookies") ?? false, device: device.newCookie)
        }
        api.add(.post, "/auth/refresh", access: .anyone, tag: tag, summary: "Rotate a refresh token (JSON body or the refresh cookie)",
                body: Schemas.refresh) { call in
            var call = call
            let body = try await call.optionalBody()
            let fromCookie = call.request.cookies[AuthCookies.refresh]?.value
            guard let token = try body.string("refresh_token") ?? fromCookie, !token.isEmpty else {
                throw APIError.badRequest("'refresh_token' is required", param: "refresh_token", code: "missing_field")
            }
            let tokens = try await identity.sessions.refresh(token, client: call.client)
            return try respond(tokens, useCookies: try body.string("refresh_token") == nil, device: nil)
        }
        api.add(.post, "/auth/logout", access: .signedIn, tag: tag, summary: "End this session (its refresh token family)", status: .noContent) { call in
            let user = try call.user()
            try await identity.sessions.revoke(sessionId: user.sessionId, userId: user.userId, reason: "logout", client: call.client)
            var response = JSONResponse.noContent
            identity.cookies.clear(on: &response)
            return response
        }
        api.add(.post, "/auth/logout-all", access: .signedIn, tag: tag, summary: "End every session of the signed-in user", status: .noContent) { call in
            let user = try call.user()
            try await identity.sessions.revokeAll(userId: user.userId, keep: nil, reason: "logout_all", actor: user.actor, client: call.client)
            var response = JSONResponse.noContent
            identity.cookies.clear(on: &response)
            return response
        }
        api.add(.get, "/auth/me", access: .signedIn, tag: tag, summary: "The signed-in user and their organisations") { call in
            JSONResponse.make(try await identity.accounts.profile(userId: try call.user().userId))
        }
        api.add(.post, "/auth/password", access: .signedIn, tag: tag, summary: "Change the password; ends every other session",
                body: Schemas.password, status: .noContent) { call in
            var call = call
            let body = try await call.body()
            let user = try call.user()
            try await identity.accounts.changePassword(
                userId: user.userId, sessionId: user.sessionId, current: try body.requiredString("current_password"),
                new: try body.requiredString("new_password"), client: call.client
            )
            return JSONResponse.noContent
        }
        api.add(.get, "/auth/sessions", access: .signedIn, tag: tag, summary: "The signed-in user's sessions with device and location") { call in
            let user = try call.user()
            return JSONResponse.object(["data": .array(try await identity.sessions.list(userId: user.userId, current: user.sessionId))])
        }
        api.add(.delete, "/auth/sessions/{session}", access: .signedIn, tag: tag, summary: "Sign a device out remotely", status: .noContent) { call in
            let user = try call.user()
            try await identity.sessions.revoke(sessionId: try call.parameter("session"), userId: user.userId, reason: "revoked_by_user", client: call.client)
            return JSONResponse.noContent
        }
        api.add(.get, "/auth/notifications", access: .signedIn, tag: tag, summary: "Security notifications for the signed-in user") { call in
            let page = try PageRequest(call)
            let userId = try call.user().userId
            let result = try await identity.database.withConnection { db in
                try await Notifications().list(userId: userId, page: page, on: db)
            }
            return JSONResponse.page(result.items, nextCursor: result.next)
        }
        api.add(.get, "/permissions", access: .signedIn, tag: "organizations", summary: "The permission catalogue and built-in roles") { _ in
            JSONResponse.object([
                "permissions": .array(Permission.allCases.map { .object(["name": .string($0.rawValue), "description": .string($0.summary)]) }),
                "roles": .array(BuiltInRole.allCases.map {
                    .object([
                        "name": .string($0.rawValue), "description": .string($0.summary), "built_in": true,
                        "permissions": .array($0.permissions.sorted().map { .string($0.rawValue) }),
                    ])
                }),
            ])
        }
    }

    /// JSON clients get the tokens in the body; browsers asking for cookies get them as cookies (and only the
    /// non-secret parts in the body).
    private func respond(_ tokens: IssuedTokens, useCookies: Bool, device: Cookie?, status: HTTPResponse.Status = .ok) throws -> Response {
        var response: Response
        if useCookies {
            response = JSONResponse.object([
                "session_id": .string(tokens.sessionId), "user_id": .string(tokens.userId), "csrf_token": .string(tokens.csrfToken),
                "expires_in": .int(Int64(identity.tokens.lifetime.seconds)),
            ], status: status)
            identity.cookies.set(tokens, accessLifetime: identity.tokens.lifetime, on: &response)
        } else {
            response = JSONResponse.make(tokens.json, status: status)
        }
        if let device { response.setCookie(device) }
        return response
    }
}
