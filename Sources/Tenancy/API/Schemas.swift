import Core

/// JSON Schemas of request bodies, for the OpenAPI document.
public enum Schemas {
    public static let string: JSONValue = .object(["type": "string"])
    public static let boolean: JSONValue = .object(["type": "boolean"])
    public static let integer: JSONValue = .object(["type": "integer"])
    public static let stringList: JSONValue = .object(["type": "array", "items": string])

    public static func object(required: [String] = [], _ properties: [String: JSONValue]) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return .object(schema)
    }

    static let register = object(required: ["email", "password"], [
        "email": string, "password": string, "display_name": string, "invitation_token": string, "use_cookies": boolean,
    ])
    static let login = object(required: ["email", "password"], ["email": string, "password": string, "use_cookies": boolean])
    static let refresh = object(["refresh_token": string])
    static let password = object(required: ["current_password", "new_password"], ["current_password": string, "new_password": string])
}
