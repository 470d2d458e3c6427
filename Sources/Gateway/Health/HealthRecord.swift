import Core

/// What the probes last learned about one provider, as stored in shared state (`health:<providerId>`) and shown
/// by the provider endpoints.
public struct HealthRecord: Sendable, Equatable {
    public enum Status: String, Sendable {
        case healthy
        case down
        /// Never probed successfully, and not yet failed often enough to be down.
        case unknown
    }

    public var status: Status
    public var consecutiveFailures: Int
    /// Epoch milliseconds of the last probe.
    public var checkedAt: Int64
    public var latencyMs: Int64
    /// The last failure, short and with anything key-like redacted; nil after a success.
    public var error: String?
    public var lastSuccessAt: Int64?

    public init(status: Status, consecutiveFailures: Int, checkedAt: Int64, latencyMs: Int64, error: String?, lastSuccessAt: Int64?) {
        self.status = status
        self.consecutiveFailures = consecutiveFailures
        self.checkedAt = checkedAt
        self.latencyMs = latencyMs
        self.error = error
        self.lastSuccessAt = lastSuccessAt
    }

    public var json: JSONValue {
        .object([
            "status": .string(status.rawValue),
            "consecutive_failures": .int(Int64(consecutiveFailures)),
            "checked_at": .int(checkedAt),
            "latency_ms": .int(latencyMs),
            "error": error.map(JSONValue.string) ?? .null,
            "last_success_at": lastSuccessAt.map(JSONValue.int) ?? .null,
        ])
    }

    /// Reads a stored record; nil for anything unreadable (treated like no record).
    public init?(json: JSONValue) {
        guard let status = json["status"]?.stringValue.flatMap(Status.init(rawValue:)),
            let failures = json["consecutive_failures"]?.intValue, let checkedAt = json["checked_at"]?.intValue
        else { return nil }
        self.init(
            status: status, consecutiveFailures: Int(failures), checkedAt: checkedAt, latencyMs: json["latency_ms"]?.intValue ?? 0,
            error: json["error"]?.stringValue, lastSuccessAt: json["last_success_at"]?.intValue
        )
    }

    /// The record after one more probe: one success makes a provider healthy; `failuresToDown` consecutive
    /// failures make it down (before that it keeps its previous status).
    static func after(
        _ previous: HealthRecord?, latency: Duration, failure: String?, failuresToDown: Int, now: Int64
    ) -> HealthRecord {
        guard let failure else {
            return HealthRecord(
                status: .healthy, consecutiveFailures: 0, checkedAt: now, latencyMs: latency.milliseconds, error: nil, lastSuccessAt: now
            )
        }
        let failures = (previous?.consecutiveFailures ?? 0) + 1
        let status: Status = failures >= failuresToDown ? .down : (previous?.status ?? .unknown)
        return HealthRecord(
            status: status, consecutiveFailures: failures, checkedAt: now, latencyMs: latency.milliseconds, error: failure,
            lastSuccessAt: previous?.lastSuccessAt
        )
    }
}
