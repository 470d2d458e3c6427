/// Every problem found while reading the configuration, reported together so an operator fixes them in one pass.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
