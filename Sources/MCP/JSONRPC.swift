import Core

/// JSON-RPC 2.0 envelopes as MCP's Streamable-HTTP transport carries them.
public enum JSONRPC {
    public enum ErrorCode: Int, Sendable {
        case parseError = -32700
        case invalidRequest = -32600
        case methodNotFound = -32601
        case invalidParams = -32602
        case internalError = -32603
    }

    public enum Message: Sendable, Equatable {
        case request(id: JSONValue, method: String, params: JSONValue?)
        case notification(method: String, params: JSONValue?)
        case response(id: JSONValue, result: JSONValue)
        case error(id: JSONValue, code: Int, message: String)
    }

    /// Classifies one decoded message; a malformed one yields the error to send back.
    public static func classify(_ value: JSONValue) -> Result<Message, RPCFailure> {
        guard case .object(let o) = value, o["jsonrpc"] == .string("2.0") else {
            return .failure(RPCFailure(id: value["id"] ?? .null, code: .invalidRequest, message: "not a JSON-RPC 2.0 message"))
        }
        let id = o["id"]
        if let id, !isValidId(id) {
            return .failure(RPCFailure(id: .null, code: .invalidRequest, message: "id must be a string or a number"))
        }
        if let method = o["method"] {
            guard let name = method.stringValue, !name.isEmpty else {
                return .failure(RPCFailure(id: id ?? .null, code: .invalidRequest, message: "method must be a non-empty string"))
            }
            if let id { return .success(.request(id: id, method: name, params: o["params"])) }
            return .success(.notification(method: name, params: o["params"]))
        }
        guard let id else { return .failure(RPCFailure(id: .null, code: .invalidRequest, message: "message has neither method nor id")) }
        if let result = o["result"] { return .success(.response(id: id, result: result)) }
        if let error = o["error"]?.objectValue, let code = error["code"]?.intValue, let message = error["message"]?.stringValue {
            return .success(.error(id: id, code: Int(code), message: message))
        }
        return .failure(RPCFailure(id: id, code: .invalidRequest, message: "response has neither result nor error"))
    }

    public static func encode(_ message: Message) -> JSONValue {
        switch message {
        case .request(let id, let method, let params):
            var o: [String: JSONValue] = ["jsonrpc": .string("2.0"), "id": id, "method": .string(method)]
            if let params { o["params"] = params }
            return .object(o)
        case .notification(let method, let params):
            var o: [String: JSONValue] = ["jsonrpc": .string("2.0"), "method": .string(method)]
            if let params { o["params"] = params }
            return .object(o)
        case .response(let id, let result):
            return .object(["jsonrpc": .string("2.0"), "id": id, "result": result])
        case .error(let id, let code, let message):
            return .object([
                "jsonrpc": .string("2.0"), "id": id,
                "error": .object(["code": .int(Int64(code)), "message": .string(message)]),
            ])
        }
    }

    private static func isValidId(_ id: JSONValue) -> Bool {
        switch id {
        case .string, .int: true
        default: false
        }
    }
}

public struct RPCFailure: Error, Sendable, Equatable {
    public let id: JSONValue
    public let code: JSONRPC.ErrorCode
    public let message: String

    public var asMessage: JSONRPC.Message { .error(id: id, code: code.rawValue, message: message) }
}
