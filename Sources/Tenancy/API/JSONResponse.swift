import Core
import HTTPTypes
import Hummingbird
import NIOCore

/// Management API responses: JSON bodies and empty 204s.
public enum JSONResponse {
    public static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: JSONText.render(value)))
        )
    }

    public static func object(_ fields: [String: JSONValue], status: HTTPResponse.Status = .ok) -> Response {
        make(.object(fields), status: status)
    }

    public static var noContent: Response { Response(status: .noContent) }

    /// A page of items: `{"data": [...], "next_cursor": "…" | null}`.
    public static func page(_ items: [JSONValue], nextCursor: String?) -> Response {
        object(["data": .array(items), "next_cursor": nextCursor.map(JSONValue.string) ?? .null])
    }
}

/// Cursor pagination over time-ordered ids (UUIDv7): `?cursor=<last id seen>&limit=N`, newest first.
public struct PageRequest: Sendable {
    public let cursor: String?
    public let limit: Int

    public static let defaultLimit = 50
    public static let maximumLimit = 200

    public init(cursor: String?, limit: Int) {
        self.cursor = cursor
        self.limit = limit
    }

    public init(_ call: ManagementCall) throws(APIError) {
        var limit = Self.defaultLimit
        if let text = call.query("limit") {
            guard let value = Int(text), (1...Self.maximumLimit).contains(value) else {
                throw .badRequest("limit must be an integer from 1 to \(Self.maximumLimit)", param: "limit")
            }
            limit = value
        }
        let cursor = call.query("cursor").flatMap { $0.isEmpty ? nil : $0 }
        if let cursor, cursor.utf8.count > 64 { throw .badRequest("cursor is not valid", param: "cursor") }
        self.init(cursor: cursor, limit: limit)
    }

    /// Given up to `limit + 1` rows fetched, the rows to show and the cursor for the next page.
    public func cut<T>(_ rows: [T], id: (T) -> String) -> (items: [T], next: String?) {
        guard rows.count > limit else { return (rows, nil) }
        let items = Array(rows.prefix(limit))
        return (items, items.last.map(id))
    }
}
