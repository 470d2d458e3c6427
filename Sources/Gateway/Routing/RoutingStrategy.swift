import Core
import HTTPTypes

/// How candidates within one priority are ranked. Every strategy but `weighted` scores each candidate from live
/// metrics and the price book (see `RouteScore`); the weights below say how much each signal counts.
public enum RoutingStrategy: String, Sendable, CaseIterable {
    case balanced, latency, cost, reliability, weighted

    public static let header = HTTPField.Name("X-Routing-Strategy")!

    /// Shares of latency, reliability, cost and load in the score (they add up to 1).
    struct Weights: Sendable, Equatable {
        let latency: Double
        let reliability: Double
        let cost: Double
        let load: Double
    }

    var weights: Weights? {
        switch self {
        case .balanced: Weights(latency: 0.35, reliability: 0.30, cost: 0.15, load: 0.20)
        case .latency: Weights(latency: 0.70, reliability: 0.15, cost: 0, load: 0.15)
        case .cost: Weights(latency: 0.10, reliability: 0.20, cost: 0.70, load: 0)
        case .reliability: Weights(latency: 0.15, reliability: 0.70, cost: 0, load: 0.15)
        case .weighted: nil
        }
    }

    /// The header's value, when a request sends one; 400 naming the choices for anything else.
    static func requested(_ value: String?) throws(APIError) -> RoutingStrategy? {
        guard let value, !value.isEmpty else { return nil }
        guard let strategy = RoutingStrategy(rawValue: value.lowercased()) else {
            throw APIError.badRequest(
                "X-Routing-Strategy must be one of \(allCases.map(\.rawValue).joined(separator: ", ")); got '\(value)'", param: "X-Routing-Strategy",
                code: "invalid_routing_strategy"
            )
        }
        return strategy
    }
}
