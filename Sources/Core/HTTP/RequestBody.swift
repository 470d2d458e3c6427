import Hummingbird
import HTTPTypes
import NIOCore

extension RequestBody {
    /// Reads the whole body, refusing with 413 (in the caller's error shape) when it exceeds `limit`;
    /// a declared Content-Length over the limit is refused before reading anything.
    public func collectLimited(_ limit: Int, headers: HTTPFields) async throws -> ByteBuffer {
        if let declared = headers.firstValue(.contentLength).flatMap({ Int($0) }), declared > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        do {
            return try await collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    /// The JSON object body as its bytes, checked whole and indexed by member (`JSONObjectBytes`): 400 when it is
    /// empty, not JSON or not an object.
    public func jsonObjectBytes(limit: Int, headers: HTTPFields) async throws -> JSONObjectBytes {
        try Self.jsonObject(try await collectLimited(limit, headers: headers))
    }

    static func jsonObject(_ buffer: ByteBuffer) throws -> JSONObjectBytes {
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("request body is empty; expected a JSON object", code: "invalid_json") }
        switch Result(catching: { () throws(JSONObjectBytes.Failure) in try JSONObjectBytes(buffer) }) {
        case .success(let object): return object
        case .failure(.invalid): throw APIError.badRequest("request body is not valid JSON", code: "invalid_json")
        case .failure(.notAnObject(let typeName)): throw APIError.badRequest("request body must be a JSON object, got \(typeName)", code: "invalid_json")
        }
    }
}

extension Request {
    /// `RequestBody.collectLimited`, keeping the collected body in the request.
    public mutating func collectLimited(_ limit: Int) async throws -> ByteBuffer {
        let buffer = try await body.collectLimited(limit, headers: headers)
        body = RequestBody(buffer: buffer)
        return buffer
    }

    /// The body as a JSON object: 400 when it is not JSON or not an object.
    public mutating func jsonObject(limit: Int) async throws -> [String: JSONValue] {
        try RequestBody.jsonObject(try await collectLimited(limit)).object()
    }
}

extension HTTPField.Name {
    public static let requestId = HTTPField.Name("X-Request-Id")!
}
