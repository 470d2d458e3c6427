#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Synchronization

/// The `Date` header value (RFC 9110 IMF-fixdate), formatted once per second rather than per response.
enum HTTPDateCache {
    private static let cached = Mutex(Cached(second: -1, text: ""))

    private struct Cached: Sendable {
        var second: Int
        var text: String
    }

    static var now: String {
        let second = time(nil)
        return cached.withLock { cached in
            if cached.second != second {
                cached = Cached(second: second, text: format(second))
            }
            return cached.text
        }
    }

    static func format(_ second: Int) -> String {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = weekdays[Int(parts.tm_wday)]
        let month = months[Int(parts.tm_mon)]
        return "\(day), \(two(parts.tm_mday)) \(month) \(1900 + parts.tm_year) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
