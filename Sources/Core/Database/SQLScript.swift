/// Splits a migration file into statements at `;` outside quotes, comments and dollar-quoted bodies,
/// because both drivers prepare one statement at a time.
public enum SQLScript {
    public static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        let chars = Array(script)
        var i = 0
        var dollarTag: String?
        while i < chars.count {
            let c = chars[i]
            if let tag = dollarTag {
                if c == "$", String(chars[i..<min(chars.count, i + tag.count)]) == tag {
                    current += tag
                    i += tag.count
                    dollarTag = nil
                } else {
                    current.append(c)
                    i += 1
                }
                continue
            }
            switch c {
            case "-" where i + 1 < chars.count && chars[i + 1] == "-":
                while i < chars.count && chars[i] != "\n" { i += 1 }
            case "'", "\"":
                current.append(c)
                i += 1
                while i < chars.count {
                    current.append(chars[i])
                    if chars[i] == c { break }
                    i += 1
                }
                i += 1
            case "$":
                var j = i + 1
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                if j < chars.count, chars[j] == "$" {
                    let tag = String(chars[i...j])
                    dollarTag = tag
                    current += tag
                    i = j + 1
                } else {
                    current.append(c)
                    i += 1
                }
            case ";":
                appendTrimmed(current, to: &statements)
                current = ""
                i += 1
            default:
                current.append(c)
                i += 1
            }
        }
        appendTrimmed(current, to: &statements)
        return statements
    }

    private static func appendTrimmed(_ text: String, to list: inout [String]) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { list.append(trimmed) }
    }
}

import Foundation
