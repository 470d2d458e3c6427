import Core
import HTTPTypes
import Hummingbird
import NIOCore
import Tenancy

/// `GET /orgs/{org}/billing/usage`: the organisation's charges over a range, grouped, as JSON or CSV.
public struct UsageReportRoutes: Sendable {
    private let billing: BillingService

    public init(billing: BillingService) {
        self.billing = billing
    }

    public func register(on api: ManagementRouter) {
        api.add(.get, "/orgs/{org}/billing/usage", access: .org(.billingView), tag: "billing",
                summary: "Usage and cost from the ledger's charges (from, to: epoch ms, default the last 30 days, to exclusive; group_by: day|model|provider|key|user; CSV with Accept: text/csv or format=csv)") { call in
            let org = try call.organization().org
            let params = try Parameters(call, now: EpochMillis.now())
            let report = UsageReport(orgId: org.id, from: params.from, to: params.to, grouping: params.grouping)
            await billing.holds.settled()  // every response already sent is in the report
            let (rows, total) = try await billing.database.withConnection { db in try await report.run(on: db) }
            if params.csv {
                return Self.csv(report, rows: rows, filename: "usage-\(org.slug)-\(params.from)-\(params.to).csv")
            }
            return JSONResponse.object([
                "from": .int(params.from), "to": .int(params.to), "group_by": .string(params.grouping.rawValue),
                "display_currency": .string(billing.settings.displayCurrency),
                "rows": .array(rows.map { Self.json($0, grouping: params.grouping) }),
                "total": Self.figures(total),
            ])
        }
    }

    /// The query parameters, with 400s that name the parameter.
    struct Parameters {
        let from: Int64
        let to: Int64
        let grouping: UsageReport.Grouping
        let csv: Bool

        init(_ call: ManagementCall, now: Int64) throws(APIError) {
            func millis(_ name: String) throws(APIError) -> Int64? {
                guard let text = call.query(name) else { return nil }
                guard let value = Int64(text), value >= 0 else { throw .badRequest("\(name) must be epoch milliseconds", param: name) }
                return value
            }
            let window = 30 * UsageReport.dayMillis
            // `to` is exclusive: by default the report runs up to and including the current millisecond.
            let now = now + 1
            let to: Int64
            let from: Int64
            switch (try millis("from"), try millis("to")) {
            case (let f?, let t?): (from, to) = (f, t)
            case (let f?, nil): (from, to) = (f, max(f, min(now, f + window)))
            case (nil, let t?): (from, to) = (max(0, t - window), t)
            case (nil, nil): (from, to) = (now - window, now)
            }
            guard from < to else { throw .badRequest("from must be before to (to is exclusive)", param: "from") }
            guard to - from <= UsageReport.maximumRange else {
                throw .badRequest("the range from … to may cover at most 366 days", param: "to")
            }
            let groupBy = call.query("group_by") ?? "day"
            guard let grouping = UsageReport.Grouping(rawValue: groupBy) else {
                throw .badRequest("group_by must be one of \(UsageReport.Grouping.allCases.map(\.rawValue).joined(separator: ", "))", param: "group_by")
            }
            switch call.query("format") {
            case nil: csv = call.request.headers[values: .accept].contains { $0.lowercased().contains("text/csv") }
            case "csv": csv = true
            case "json": csv = false
            default: throw .badRequest("format must be json or csv", param: "format")
            }
            self.from = from
            self.to = to
            self.grouping = grouping
        }
    }

    static func figures(_ row: UsageReport.Row) -> JSONValue {
        .object([
            "requests": .int(row.requests), "input_tokens": .int(row.inputTokens), "output_tokens": .int(row.outputTokens),
            "cached_input_tokens": .int(row.cachedInputTokens), "reasoning_tokens": .int(row.reasoningTokens),
            "estimated_requests": .int(row.estimatedRequests),
            "cost": .string(Credits(micros: row.costMicros).description), "cost_micros": .int(row.costMicros),
        ])
    }

    static func json(_ row: UsageReport.Row, grouping: UsageReport.Grouping) -> JSONValue {
        guard case .object(var fields) = figures(row) else { return .null }
        fields["group"] = row.group.map(JSONValue.string) ?? .null
        switch grouping {
        case .key: fields["key_name"] = row.label.map(JSONValue.string) ?? .null
        case .user: fields["user_email"] = row.label.map(JSONValue.string) ?? .null
        case .day, .model, .provider: break
        }
        return .object(fields)
    }

    /// RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, quote or line break. Text
    /// cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) are prefixed with `'`.
    static func csv(_ report: UsageReport, rows: [UsageReport.Row], filename: String) -> Response {
        var header = ["group"]
        switch report.grouping {
        case .key: header.append("key_name")
        case .user: header.append("user_email")
        case .day, .model, .provider: break
        }
        header += ["requests", "input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "estimated_requests", "cost", "cost_micros"]
        var lines = [header.map(field).joined(separator: ",")]
        for row in rows {
            var cells = [text(row.group)]
            if report.grouping == .key || report.grouping == .user { cells.append(text(row.label)) }
            cells += [row.requests, row.inputTokens, row.outputTokens, row.cachedInputTokens, row.reasoningTokens, row.estimatedRequests].map { String($0) }
            cells += [Credits(micros: row.costMicros).description, String(row.costMicros)]
            lines.append(cells.map(field).joined(separator: ","))
        }
        let body = lines.joined(separator: "\r\n") + "\r\n"
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\"", .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }

    static func text(_ value: String?) -> String {
        guard let value, let first = value.unicodeScalars.first else { return "" }
        return ["=", "+", "-", "@", "\t", "\r"].contains(first) ? "'" + value : value
    }

    static func field(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
