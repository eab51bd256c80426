using CyAgents.Economy.Clearing;
using CyAgents.Economy.Clearing.Reference;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// Exact key comparisons have two paths: 64-bit size numerators when the supplies' lcm is small, and BigInteger
/// (decided in floating point when keys are far apart) when it is not — the simulator's supplies take the second.
/// Scaling each kind's supply and every bid's quantity of that kind by its own large prime leaves every size, key and
/// tie the same as rationals but forces the second path, so both must clear alike.
/// </summary>
public sealed class WideLcmEquivalenceTests
{
    private static readonly long[] Primes = [1_000_003, 999_983, 1_000_033, 999_979];

    // The 64-bit path's supplies (lcm 120,000).
    private static readonly ResourceBundle Supply = ResourceBundle.Create(12_000, 24_000, 120_000, 6_000);

    public static TheoryData<string> Mechanisms() =>
    [
        FirstPriceMechanism.MechanismName, CriticalValueMechanism.MechanismName, PostedPriceMechanism.MechanismName,
        LotteryMechanism.MechanismName, OptimalMechanism.MechanismName, UniformPriceMechanism.MechanismName,
    ];

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public void Small_instances_clear_alike_on_both_paths_ties_included(string mechanism)
    {
        var random = new SplitMix64(20261201);
        for (var instance = 0; instance < 200; instance++)
            ShouldClearAlike(mechanism, Instance(random, bidCount: 24), $"instance {instance}");
    }

    [Theory]
    [InlineData("first-price")]
    [InlineData("critical-value")]
    public void Large_instances_clear_alike_on_both_paths(string mechanism)
    {
        var random = new SplitMix64(7);
        for (var instance = 0; instance < 5; instance++)
            ShouldClearAlike(mechanism, Instance(random, bidCount: 3_000), $"instance {instance}");
    }

    private static void ShouldClearAlike(string mechanism, ClearingInput narrow, string label)
    {
        var wide = Widen(narrow);
        var expected = ClearingMechanisms.Create(mechanism).Clear(narrow);
        var actual = ClearingMechanisms.Create(mechanism).Clear(wide);
        actual.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe(expected.Winners.Select(w => (w.BidId, w.Payment)), label);
        actual.Losers.ShouldBe(expected.Losers, label);
    }

    /// <summary>
    /// Random bids, a third of them exact ties of another bid: twice the bundle at twice the amount (equal density) or
    /// nine times the bundle at three times the amount (equal amount / sqrt(size)).
    /// </summary>
    private static ClearingInput Instance(SplitMix64 random, int bidCount)
    {
        var bids = new List<Bid>(bidCount);
        while (bids.Count < bidCount)
        {
            var i = bids.Count;
            if (i > 0 && random.NextBelow(3) == 0)
            {
                var original = bids[(int)random.NextBelow((ulong)i)];
                var (scale, amount) = random.NextBelow(2) == 0 ? (2L, 2L) : (9L, 3L);
                var bundle = Scale(original.Bundle, scale);
                if (bundle.FitsWithin(Supply))
                {
                    bids.Add(new Bid($"b{i:D5}", $"a{i:D5}", bundle, original.Amount * amount));
                    continue;
                }
            }
            long Part(ResourceKind kind) => random.NextBelow(4) == 0 ? 0 : random.NextInRange(1, Supply[kind] / 12 + 2);
            var fresh = ResourceBundle.Create(Part(ResourceKind.Cpu), Part(ResourceKind.Memory), Part(ResourceKind.Tokens), Part(ResourceKind.Attention));
            bids.Add(new Bid($"b{i:D5}", $"a{i:D5}", fresh.IsEmpty ? ResourceBundle.Create(cpuMillicores: 1) : fresh,
                random.NextInRange(1, 1_001)));
        }
        // Shuffled so the tie partners do not arrive next to each other.
        for (var i = bids.Count - 1; i > 0; i--)
        {
            var j = (int)random.NextBelow((ulong)(i + 1));
            (bids[i], bids[j]) = (bids[j], bids[i]);
        }
        // No posted prices: scaled floating-point prices would not be the same rationals, and the posted cost is not
        // what this compares.
        return new ClearingInput(bids, Supply, MarketPrices.Zero, random.NextUInt64());
    }

    private static ClearingInput Widen(ClearingInput input) => input with
    {
        Bids = input.Bids.Select(b => b with { Bundle = PerKind(b.Bundle) }).ToList(),
        Supply = PerKind(input.Supply),
    };

    private static ResourceBundle PerKind(ResourceBundle b) => ResourceBundle.Create(
        b.CpuMillicores * Primes[0], b.MemoryMiB * Primes[1], b.Tokens * Primes[2], b.AttentionBasisPoints * Primes[3]);

    private static ResourceBundle Scale(ResourceBundle b, long factor) => ResourceBundle.Create(
        b.CpuMillicores * factor, b.MemoryMiB * factor, b.Tokens * factor, b.AttentionBasisPoints * factor);
}
