import Core

/// Routing settings (`AIHIGRESS_ROUTING_*` and `AIHIGRESS_SESSION_CONTEXT_*` in `.env.example`).
public struct RoutingSettings: Sendable, Equatable {
    /// For requests without `X-Routing-Strategy` whose model is not a logical model with its own strategy.
    public var defaultStrategy: RoutingStrategy
    /// Session context kept per `X-Session-Id`: this many turns (0 turns it off) of at most `contextCharacters` each.
    public var contextTurns: Int
    public var contextCharacters: Int

    public init(defaultStrategy: RoutingStrategy = .balanced, contextTurns: Int = 20, contextCharacters: Int = 2_000) {
        self.defaultStrategy = defaultStrategy
        self.contextTurns = contextTurns
        self.contextCharacters = contextCharacters
    }

    static func read(_ env: [String: String], into problems: inout [String]) -> RoutingSettings {
        var settings = RoutingSettings()
        if let text = env["AIHIGRESS_ROUTING_STRATEGY"]?.trimmingCharacters(in: .whitespaces).lowercased(), !text.isEmpty {
            if let strategy = RoutingStrategy(rawValue: text) { settings.defaultStrategy = strategy } else {
                let choices = RoutingStrategy.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append("AIHIGRESS_ROUTING_STRATEGY: expected one of \(choices), got '\(text)'")
            }
        }
        settings.contextTurns = EnvInteger.read(env, "AIHIGRESS_SESSION_CONTEXT_TURNS", default: 20, 0...200, into: &problems)
        settings.contextCharacters = EnvInteger.read(env, "AIHIGRESS_SESSION_CONTEXT_CHARS", default: 2_000, 100...100_000, into: &problems)
        return settings
    }
}

import Foundation
