/// Typed reads of request fields with 400 errors that name the field (`messages[2].content`), shared by every
/// ingress decoder and management API handler.
public struct Fields: Sendable {
    public let object: [String: JSONValue]
    /// Path of this object in the request, for messages (`""` at the top, `messages[2]` below).
    public let path: String

    public init(_ object: [String: JSONValue], path: String = "") {
        self.object = object
        self.path = path
    }

    public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func has(_ key: String) -> Bool {
        if let value = object[key], value != .null { return true }
        return false
    }

    public func required(_ key: String) throws(APIError) -> JSONValue {
        guard let value = object[key], value != .null else {
            throw .badRequest("'\(name(key))' is required", param: name(key), code: "missing_field")
        }
        return value
    }

    public func string(_ key: String) throws(APIError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let s = value.stringValue else { throw typeError(key, "a string", value) }
        return s
    }

    public func requiredString(_ key: String) throws(APIError) -> String {
        guard let s = try string(key) else { _ = try required(key); return "" }
        return s
    }

    public func int(_ key: String) throws(APIError) -> Int? {
        guard let value = object[key], value != .null else { return nil }
        guard let i = value.intValue else { throw typeError(key, "an integer", value) }
        return Int(i)
    }

    public func double(_ key: String) throws(APIError) -> Double? {
        guard let value = object[key], value != .null else { return nil }
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw typeError(key, "a number", value)
        }
    }

    public func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard let b = value.boolValue else { throw typeError(key, "a boolean", value) }
        return b
    }

    public func array(_ key: String) throws(APIError) -> [JSONValue]? {
        guard let value = object[key], value != .null else { return nil }
        guard let a = value.arrayValue else { throw typeError(key, "an array", value) }
        return a
    }

    public func objectField(_ key: String) throws(APIError) -> Fields? {
        guard let value = object[key], value != .null else { return nil }
        guard let o = value.objectValue else { throw typeError(key, "an object", value) }
        return Fields(o, path: name(key))
    }

    /// `stop`-style fields: a string or an array of strings.
    public func stringOrStrings(_ key: String) throws(APIError) -> [String] {
        guard let value = object[key], value != .null else { return [] }
        if let s = value.stringValue { return [s] }
        guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
            throw typeError(key, "a string or an array of strings", value)
        }
        return items.compactMap(\.stringValue)
    }

    /// The element at `index` of an array field as an object.
    public func element(_ value: JSONValue, of key: String, at index: Int) throws(APIError) -> Fields {
        let elementPath = "\(name(key))[\(index)]"
        guard let o = value.objectValue else {
            throw .badRequest("'\(elementPath)' must be an object, got \(value.typeName)", param: elementPath, code: "invalid_type")
        }
        return Fields(o, path: elementPath)
    }

    public func typeError(_ key: String, _ expected: String, _ got: JSONValue) -> APIError {
        .badRequest("'\(name(key))' must be \(expected), got \(got.typeName)", param: name(key), code: "invalid_type")
    }

    public func invalid(_ key: String, _ message: String) -> APIError {
        .badRequest("'\(name(key))' \(message)", param: name(key), code: "invalid_value")
    }
}
