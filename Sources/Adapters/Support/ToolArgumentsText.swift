import Core

/// JSON text of a value, for tool arguments carried as strings.
public func compactJSON(_ value: JSONValue) -> String { JSONText.render(value) }

/// Parses JSON text that should be an object (tool arguments). Providers that need an object (Anthropic, Gemini)
/// get `{}` for text that is not a JSON object, rather than a request they would reject.
public func jsonObject(fromText text: String) -> JSONValue {
    if let value = try? JSONText.parse(Array(text.utf8)), case .object = value { return value }
    return .object([:])
}
