import Core
import Testing
@testable import Billing

@Suite struct PriceTests {
    @Test func costCountsCachedAndReasoningTokensAtTheirPricesAndRoundsUp() {
        let price = Price(inputPerMillion: 2_500_000, outputPerMillion: 10_000_000, cachedInputPerMillion: 1_250_000, reasoningPerMillion: 20_000_000, source: "t")
        // 800 uncached × 2.5 + 200 cached × 1.25 + 300 output × 10 + 100 reasoning × 20 credits per million.
        let usage = MeteredUsage(inputTokens: 1000, outputTokens: 400, cachedInputTokens: 200, reasoningTokens: 100)
        #expect(price.cost(of: usage) == 2_000 + 250 + 3_000 + 2_000)
        // One token at 0.15 per million is 0.15 micro-credits: charged as 1, never free.
        let cheap = Price(inputPerMillion: 150_000, outputPerMillion: 600_000, source: "t")
        #expect(cheap.cost(of: MeteredUsage(inputTokens: 1)) == 1)
        #expect(cheap.cost(of: MeteredUsage()) == 0)
        let perUnit = Price(inputPerMillion: 0, outputPerMillion: 0, perImage: 40_000, perRequest: 7, source: "t")
        #expect(perUnit.cost(of: MeteredUsage(images: 3)) == 120_007)
    }

    @Test func aBillingFactorScalesEveryComponentRoundingUp() {
        let price = Price(inputPerMillion: 1_000_001, outputPerMillion: 2_000_000, cachedInputPerMillion: 3, perImage: 10, perRequest: 1, source: "t")
        let scaled = price.scaled(byBasisPoints: 15_000)
        #expect(scaled.inputPerMillion == 1_500_002)  // 1,500,001.5 rounded up
        #expect(scaled.outputPerMillion == 3_000_000)
        #expect(scaled.cachedInputPerMillion == 5)  // 4.5 rounded up
        #expect(scaled.perImage == 15 && scaled.perRequest == 2)
        #expect(price.scaled(byBasisPoints: 10_000) == price)
    }

    @Test func absurdNumbersSaturateInsteadOfOverflowing() {
        let price = Price(inputPerMillion: .max / 2, outputPerMillion: .max / 2, source: "t")
        #expect(price.cost(of: MeteredUsage(inputTokens: .max / 2, outputTokens: .max / 2)) == .max)
    }

    @Test func shippedPricesMatchVersionedNamesToTheirFamily() throws {
        let dated = try #require(ShippedPrices.price(for: "gpt-4o-2024-08-06"))
        #expect(dated.inputPerMillion == 2_500_000)
        let mini = try #require(ShippedPrices.price(for: "openai/gpt-4o-mini-2024-07-18"))
        #expect(mini.inputPerMillion == 150_000, "the longest family name wins")
        #expect(ShippedPrices.price(for: "claude-3-5-haiku-20241022")?.outputPerMillion == 4_000_000)
        #expect(ShippedPrices.price(for: "models/gemini-2.0-flash")?.outputPerMillion == 400_000)
        #expect(ShippedPrices.price(for: "gpt-fake") == nil)
        #expect(ShippedPrices.price(for: "gpt-4oo") == nil)
        // Looked up again (from the memo), the answers stay the same.
        #expect(ShippedPrices.price(for: "gpt-4o-2024-08-06") == dated)
        #expect(ShippedPrices.price(for: "gpt-fake") == nil)
        // Every row parses (the table is hand-written).
        for model in ShippedPrices.table.keys { #expect(ShippedPrices.price(for: model) != nil, "\(model)") }
    }
}
