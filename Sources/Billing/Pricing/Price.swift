import Core

/// Prices in micro-credits: per million tokens, per image, per request.
public struct Price: Sendable, Equatable {
    public var inputPerMillion: Int64
    public var outputPerMillion: Int64
    /// Cached input tokens; nil = the input price.
    public var cachedInputPerMillion: Int64?
    /// Reasoning tokens (part of output); nil = the output price.
    public var reasoningPerMillion: Int64?
    public var perImage: Int64
    public var perRequest: Int64
    /// Where the price came from (`shipped 2025-06-01`, `override`, `default`), shown in reports.
    public var source: String

    public init(
        inputPerMillion: Int64, outputPerMillion: Int64, cachedInputPerMillion: Int64? = nil, reasoningPerMillion: Int64? = nil,
        perImage: Int64 = 0, perRequest: Int64 = 0, source: String
    ) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.reasoningPerMillion = reasoningPerMillion
        self.perImage = perImage
        self.perRequest = perRequest
        self.source = source
    }

    /// The exact cost in micro-credits, rounded up so no priced request is ever free.
    public func cost(of usage: MeteredUsage) -> Int64 {
        let cached = min(max(0, usage.cachedInputTokens), max(0, usage.inputTokens))
        let reasoning = min(max(0, usage.reasoningTokens), max(0, usage.outputTokens))
        let parts: [(Int64, Int64)] = [
            (max(0, usage.inputTokens) - cached, inputPerMillion),
            (cached, cachedInputPerMillion ?? inputPerMillion),
            (max(0, usage.outputTokens) - reasoning, outputPerMillion),
            (reasoning, reasoningPerMillion ?? outputPerMillion),
        ]
        // Whole micro-credits per token plus the remainder, so tokens × price cannot overflow.
        var whole: Int64 = 0
        var remainder: Int64 = 0
        for (tokens, perMillion) in parts {
            whole = whole.addingSaturating(tokens.multipliedSaturating(by: perMillion / 1_000_000))
            remainder = remainder.addingSaturating(tokens.multipliedSaturating(by: perMillion % 1_000_000))
        }
        let fromRemainder = remainder / 1_000_000 + (remainder % 1_000_000 > 0 ? 1 : 0)
        return whole.addingSaturating(fromRemainder)
            .addingSaturating(max(0, usage.images).multipliedSaturating(by: perImage))
            .addingSaturating(perRequest)
    }

    /// The price multiplied by a factor in basis points (10000 = 1.0), each component rounded up.
    public func scaled(byBasisPoints factor: Int) -> Price {
        guard factor != 10_000 else { return self }
        func scale(_ micros: Int64) -> Int64 {
            let product = micros.multipliedSaturating(by: Int64(factor))
            return product / 10_000 + (product % 10_000 > 0 ? 1 : 0)
        }
        var scaled = Price(
            inputPerMillion: scale(inputPerMillion), outputPerMillion: scale(outputPerMillion),
            cachedInputPerMillion: cachedInputPerMillion.map(scale), reasoningPerMillion: reasoningPerMillion.map(scale),
            perImage: scale(perImage), perRequest: scale(perRequest), source: source
        )
        scaled.source += " × \(Double(factor) / 10_000)"
        return scaled
    }

    public var json: JSONValue {
        .object([
            "input_per_million": .string(Credits(micros: inputPerMillion).description),
            "output_per_million": .string(Credits(micros: outputPerMillion).description),
            "cached_input_per_million": cachedInputPerMillion.map { .string(Credits(micros: $0).description) } ?? .null,
            "reasoning_per_million": reasoningPerMillion.map { .string(Credits(micros: $0).description) } ?? .null,
            "per_image": .string(Credits(micros: perImage).description),
            "per_request": .string(Credits(micros: perRequest).description),
            "source": .string(source),
        ])
    }
}

extension Int64 {
    func addingSaturating(_ other: Int64) -> Int64 {
        let (value, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : value
    }

    func multipliedSaturating(by other: Int64) -> Int64 {
        let (value, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) != (other < 0) ? .min : .max) : value
    }
}
