using CyAgents.Economy.Clearing;
using CyAgents.Economy.Clearing.Reference;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing.Reference;

/// <summary>
/// Uniform-price charges ceil(first loser's amount × size_i / size_first): from 64-bit size numerators over the
/// supplies' lcm when that fits (ADR 0145), from the sizes times the supplies' product otherwise. Scaling every
/// bundle and the supply by the same factor leaves every normalized size (and so the whole result) unchanged while
/// pushing the lcm past 64 bits, so the two paths must agree.
/// </summary>
public sealed class UniformPricePaymentTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Payments_are_the_same_whether_the_sizes_fit_64_bits_or_not(int seed)
    {
        var random = new SplitMix64((ulong)seed);
        // lcm about 2^50: the 64-bit path; times 2048, about 2^61: past the 2^60 limit, the arbitrary-precision path.
        long[] supply = [999_983, 999_979, 1_000, 0];
        const long factor = 2048;
        var bids = new List<Bid>();
        for (var i = 0; i < 300; i++)
        {
            var bundle = new long[4];
            for (var k = 0; k < 3; k++)
                bundle[k] = random.NextBelow(3) == 0 ? 0 : random.NextInRange(1, supply[k] / 20);
            if (bundle.All(q => q == 0))
                bundle[2] = 1;
            bids.Add(new Bid($"b{i:D3}", $"a{i:D3}", ResourceBundle.Create(bundle[0], bundle[1], bundle[2]), random.NextInRange(1, 100_000)));
        }
        ClearingInput Scaled(long f) => new(
            bids.Select(b => b with { Bundle = ResourceBundle.Create(b.Bundle.CpuMillicores * f, b.Bundle.MemoryMiB * f, b.Bundle.Tokens * f) }).ToList(),
            ResourceBundle.Create(supply[0] * f, supply[1] * f, supply[2] * f), MarketPrices.Zero);

        var small = new UniformPriceMechanism().Clear(Scaled(1));
        var large = new UniformPriceMechanism().Clear(Scaled(factor));
        small.Losers.ShouldNotBeEmpty();
        small.Winners.Select(w => w.Payment).ShouldContain(p => p > 0 && p < small.Winners.Max(w => w.Amount));
        large.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe(small.Winners.Select(w => (w.BidId, w.Payment)));
        large.Losers.ShouldBe(small.Losers);
    }
}
