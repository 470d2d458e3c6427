import Core
import Foundation
import HTTPTypes
import Hummingbird

/// Browser sessions: tokens in cookies (HttpOnly, SameSite=Lax, Secure when served over HTTPS) instead of JSON.
public struct AuthCookies: Sendable {
    public static let refresh = "ahg_refresh"
    public static let csrf = "ahg_csrf"
    public static let device = "ahg_device"

    private let secure: Bool

    public init(settings: AuthSettings) {
        self.secure = settings.publicURL?.hasPrefix("https://") == true
    }

    public func set(_ tokens: IssuedTokens, accessLifetime: Duration, on response: inout Response) {
        let refreshAge = Int(max(0, (tokens.refreshExpiresAt - EpochMillis.now()) / 1000))
        response.setCookie(cookie(PrincipalResolver.accessCookie, tokens.accessToken, maxAge: Int(accessLifetime.seconds), path: "/"))
        response.setCookie(cookie(Self.refresh, tokens.refreshToken, maxAge: refreshAge, path: "/auth"))
        // Readable by the page's script, which echoes it in X-CSRF-Token.
        response.setCookie(cookie(Self.csrf, tokens.csrfToken, maxAge: refreshAge, path: "/", httpOnly: false))
    }

    public func clear(on response: inout Response) {
        response.setCookie(cookie(PrincipalResolver.accessCookie, "", maxAge: 0, path: "/"))
        response.setCookie(cookie(Self.refresh, "", maxAge: 0, path: "/auth"))
        response.setCookie(cookie(Self.csrf, "", maxAge: 0, path: "/", httpOnly: false))
    }

    /// The browser's device token, and the cookie to set when it had none.
    public func deviceToken(for request: Request) -> (token: String, newCookie: Cookie?) {
        if let presented = request.headers[.deviceId] ?? request.cookies[Self.device]?.value, Self.isPlausibleDeviceToken(presented) {
            return (presented, nil)
        }
        let token = RandomToken.base62(length: 32)
        return (token, cookie(Self.device, token, maxAge: 400 * 86_400, path: "/"))
    }

    /// Printable, cookie-safe, of a sensible length: anything else gets a fresh token.
    static func isPlausibleDeviceToken(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (16...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in byte > 0x20 && byte < 0x7F && byte != 0x3B && byte != 0x2C }
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int, path: String, httpOnly: Bool = true) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: secure, httpOnly: httpOnly, sameSite: .lax)
    }
}

extension HTTPField.Name {
    public static let deviceId = HTTPField.Name("X-Device-Id")!
}
