/// Reads typed settings from an environment map and records a message for each bad one instead of stopping at the first.
struct SettingReader {
    let env: [String: String]
    var problems: [String] = []

    func value(_ name: String) -> String? {
        guard let raw = env[name] else { return nil }
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    func optionalString(_ name: String) -> String? { value(name) }

    func string(_ name: String, default fallback: String) -> String { value(name) ?? fallback }

    mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        EnvInteger.read(env, name, default: fallback, range, into: &problems)
    }

    mutating func boolean(_ name: String, default fallback: Bool) -> Bool {
        guard let text = value(name)?.lowercased() else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problems.append("\(name): expected true or false, got '\(text)'")
            return fallback
        }
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) -> T
    where T.RawValue == String {
        guard let text = value(name) else { return fallback }
        if let chosen = T(rawValue: text.lowercased()) { return chosen }
        let allowed = T.allCases.map(\.rawValue).joined(separator: "|")
        problems.append("\(name): expected one of \(allowed), got '\(text)'")
        return fallback
    }

    mutating func parsed<T>(_ name: String, default fallback: T, _ parse: (String) throws(LocationError) -> T) -> T {
        guard let text = value(name) else { return fallback }
        do {
            return try parse(text)
        } catch {
            problems.append(error.description)
            return fallback
        }
    }
}

import Foundation
