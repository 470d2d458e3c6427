import Testing
import Core

@Suite struct CreditsTests {
    @Test func parsesDecimalAmountsExactly() {
        #expect(Credits(parsing: "12")?.micros == 12_000_000)
        #expect(Credits(parsing: "12.5")?.micros == 12_500_000)
        #expect(Credits(parsing: "0.000001")?.micros == 1)
        #expect(Credits(parsing: "-3.25")?.micros == -3_250_000)
        for bad in ["", "1.", ".5", "1.0000001", "abc", "1e3", "--1", "99999999999999999"] {
            #expect(Credits(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func formatsWithoutTrailingZeros() {
        #expect(Credits(micros: 12_500_000).description == "12.5")
        #expect(Credits(micros: 1).description == "0.000001")
        #expect(Credits(micros: -3_000_000).description == "-3")
        #expect(Credits.zero.description == "0")
    }

    @Test func arithmeticStaysInIntegers() {
        let tenth = Credits(parsing: "0.1")!
        let sum = (0..<10).reduce(Credits.zero) { acc, _ in acc + tenth }
        #expect(sum == Credits(parsing: "1"))
        #expect(sum - tenth < sum)
    }
}
