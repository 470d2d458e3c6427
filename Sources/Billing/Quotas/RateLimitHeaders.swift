/// `X-RateLimit-{Limit,Remaining,Reset}-{Requests,Tokens}` for the tightest limit that applied.
public struct RateLimitHeaders: Sendable, Equatable {
    struct Window: Sendable, Equatable {
        var limit: Int
        var remaining: Int
        var resetSeconds: Int
    }

    var requests: Window?
    var tokens: Window?

    mutating func offer(requests window: Window) {
        if requests.map({ window.remaining < $0.remaining }) ?? true { requests = window }
    }

    mutating func offer(tokens window: Window) {
        if tokens.map({ window.remaining < $0.remaining }) ?? true { tokens = window }
    }

    public var fields: [(String, String)] {
        var out: [(String, String)] = []
        for (name, window) in [("Requests", requests), ("Tokens", tokens)] {
            guard let window else { continue }
            out.append(("X-RateLimit-Limit-\(name)", String(window.limit)))
            out.append(("X-RateLimit-Remaining-\(name)", String(max(0, window.remaining))))
            out.append(("X-RateLimit-Reset-\(name)", "\(window.resetSeconds)s"))
        }
        return out
    }
}
