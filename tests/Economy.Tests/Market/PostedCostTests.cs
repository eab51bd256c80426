using System.Globalization;
using System.Numerics;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Market;

/// <summary>
/// <see cref="MarketPrices.CostOf"/> settles most costs from a floating-point quotient checked by exact
/// multiplications (ADR 0145) and the rest by a 128-bit division; both must give the exact ceiling of ADR 0121,
/// computed here from the prices' decimal strings in arbitrary precision.
/// </summary>
public sealed class PostedCostTests
{
    [Fact]
    public void Costs_equal_the_exact_ceiling_of_the_decimal_prices_on_random_bundles()
    {
        var random = new SplitMix64(145);
        for (var round = 0; round < 200; round++)
        {
            var prices = new MarketPrices(Price(random), Price(random), Price(random), Price(random));
            for (var b = 0; b < 50; b++)
            {
                var bundle = ResourceBundle.Create(Quantity(random), Quantity(random), Quantity(random), Quantity(random));
                prices.CostOf(bundle).ShouldBe(ExactCost(prices, bundle), $"prices {prices}, bundle {bundle}");
            }
        }
    }

    [Fact]
    public void Costs_a_hair_off_a_whole_number_are_rounded_exactly()
    {
        // price = c / q as a double: the exact cost of q units lies within a few ulps of c, on either side, where a
        // floating-point quotient alone would often round to the wrong whole number.
        var random = new SplitMix64(2026);
        for (var round = 0; round < 5000; round++)
        {
            var q = random.NextInRange(1, ClearingValidation.MaxQuantity + 1);
            var c = random.NextInRange(1, 1L << 47);
            var prices = new MarketPrices((double)c / q, 0, 0, 0);
            var bundle = ResourceBundle.Create(q);
            prices.CostOf(bundle).ShouldBe(ExactCost(prices, bundle), $"prices {prices}, bundle {bundle}");
        }
    }

    [Theory]
    [InlineData(0.25, 4, 1)] // an exact whole number: the floor is the ceiling
    [InlineData(0.25, 5, 2)]
    [InlineData(0.1, 30, 3)] // 0.1 counts as one tenth, so 30 units cost exactly 3
    [InlineData(1e-20, 1_000_000_000_000, 1)]
    [InlineData(3, 1_000_000_000_000, 3_000_000_000_000)]
    [InlineData(1e6, 1_000_000_000_000, 1_000_000_000_000_000_000)] // above 2^48: the division path
    [InlineData(0.3333333333333333, 3_000_000_000_000, 1_000_000_000_000)] // 999,999,999,999.9999 rounds up
    public void Known_costs(double price, long quantity, long cost) =>
        new MarketPrices(price, 0, 0, 0).CostOf(ResourceBundle.Create(quantity)).ShouldBe(cost);

    private static double Price(SplitMix64 random) => random.NextBelow(6) switch
    {
        0 => 0,
        1 => random.NextInRange(0, 1000) / 4.0,
        2 => random.NextDouble(),
        3 => random.NextDouble() * Math.Pow(10, -(double)random.NextInRange(1, 16)),
        4 => Math.Round(random.NextDouble() * 100, (int)random.NextInRange(0, 6)),
        _ => random.NextDouble() * Math.Pow(10, random.NextInRange(0, 7)),
    };

    private static long Quantity(SplitMix64 random) => random.NextBelow(5) switch
    {
        0 => 0,
        1 => random.NextInRange(1, 100),
        2 => random.NextInRange(1, 1_000_000),
        3 => random.NextInRange(1, ClearingValidation.MaxQuantity + 1),
        _ => random.NextInRange(1, 10_000) * 1000,
    };

    private static long ExactCost(MarketPrices prices, ResourceBundle bundle)
    {
        // Each price as numerator / 10^places from its shortest round-trip string, summed as a fraction over 10^30.
        BigInteger total = 0;
        foreach (var kind in ResourceKinds.All)
        {
            var text = prices[kind].ToString("R", CultureInfo.InvariantCulture);
            var exponent = 0;
            if (text.IndexOfAny(['E', 'e']) is var e and >= 0)
            {
                exponent = int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture);
                text = text[..e];
            }
            var dot = text.IndexOf('.');
            var places = (dot < 0 ? 0 : text.Length - dot - 1) - exponent;
            var digits = BigInteger.Parse(dot < 0 ? text : text.Remove(dot, 1), CultureInfo.InvariantCulture);
            total += digits * BigInteger.Pow(10, 40 - places) * bundle[kind];
        }
        var unit = BigInteger.Pow(10, 40);
        var ceiling = BigInteger.DivRem(total, unit, out var rest) + (rest > 0 ? 1 : 0);
        return ceiling > long.MaxValue ? long.MaxValue : (long)ceiling;
    }
}
