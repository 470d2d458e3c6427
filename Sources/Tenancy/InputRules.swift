import Core

/// Shapes of user-supplied names and values, checked before anything is stored.
public enum InputRules {
    /// Organisation slugs: lowercase letters, digits and dashes, 2–63 characters, starting with a letter or digit.
    public static func validateSlug(_ slug: String) throws(APIError) {
        let chars = Array(slug.utf8)
        let ok = (2...63).contains(chars.count)
            && chars.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            && chars.first != 0x2D
        if !ok {
            throw .badRequest("organization slug must be 2-63 lowercase letters, digits or dashes, not starting with a dash", param: "slug")
        }
    }

    public static func normalizedEmail(_ email: String) throws(APIError) -> String {
        let trimmed = email.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            trimmed.count <= 254, !trimmed.contains(" ")
        else { throw .badRequest("'\(email)' is not a valid email address", param: "email") }
        return trimmed
    }

    public static func validatePassword(_ password: String) throws(APIError) {
        guard password.count >= 8 else { throw .badRequest("password must be at least 8 characters", param: "password") }
        // bcrypt reads at most 72 bytes; longer passwords would be silently truncated.
        guard password.utf8.count <= 72 else { throw .badRequest("password must be at most 72 bytes", param: "password") }
    }

    public static func validateName(_ name: String, field: String) throws(APIError) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard (1...200).contains(trimmed.count) else { throw .badRequest("\(field) must be 1-200 characters", param: field) }
    }

    /// Parses `30d`, `12h`, `90m`, `45s`, `2w` into seconds.
    public static func duration(_ text: String, field: String) throws(APIError) -> Int64 {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let multiplier = units[unit], let amount = Int64(text.dropLast()), amount > 0,
            amount <= 100 * 365 * 86_400 / multiplier
        else { throw .badRequest("\(field) must look like 30d, 12h, 90m, 45s or 2w", param: field) }
        return amount * multiplier
    }
}

import Foundation
