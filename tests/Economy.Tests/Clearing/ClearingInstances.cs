using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>Builders for the instances the clearing tests share.</summary>
internal static class ClearingInstances
{
    public static Bid Bid(string id, long amount, long cpu = 0, long memory = 0, long tokens = 0, long attention = 0, string? agent = null) =>
        new(id, agent ?? "agent-" + id, ResourceBundle.Create(cpu, memory, tokens, attention), amount);

    public static ClearingInput Input(IReadOnlyList<Bid> bids, long cpu = 0, long memory = 0, long tokens = 0, long attention = 0,
        MarketPrices? prices = null, ulong seed = 0) =>
        new(bids, ResourceBundle.Create(cpu, memory, tokens, attention), prices ?? MarketPrices.Zero, seed);

    /// <summary>
    /// A seeded random instance: <paramref name="bidCount"/> bids over 4 resources, bundles up to about a third
    /// of the supply in each kind (some kinds left at zero), amounts 1..1000, distinct agents.
    /// </summary>
    public static ClearingInput Random(SplitMix64 random, int bidCount, MarketPrices? prices = null)
    {
        var supply = ResourceBundle.Create(
            random.NextInRange(1_000, 16_001), random.NextInRange(1_000, 32_001),
            random.NextInRange(1_000, 200_001), random.NextInRange(100, 10_001));
        var bids = new Bid[bidCount];
        for (var i = 0; i < bidCount; i++)
        {
            long Part(ResourceKind kind) =>
                random.NextBelow(4) == 0 ? 0 : random.NextInRange(1, supply[kind] / 3 + 2);
            var bundle = ResourceBundle.Create(Part(ResourceKind.Cpu), Part(ResourceKind.Memory),
                Part(ResourceKind.Tokens), Part(ResourceKind.Attention));
            if (bundle.IsEmpty)
                bundle = ResourceBundle.Create(cpuMillicores: 1);
            bids[i] = new Bid($"b{i:D6}", $"a{i:D6}", bundle, random.NextInRange(1, 1_001));
        }
        return new ClearingInput(bids, supply, prices ?? MarketPrices.Zero, random.NextUInt64());
    }

    /// <summary>Prices that make roughly half of the random bids above affordable.</summary>
    public static MarketPrices ModeratePrices { get; } = new(0.02, 0.01, 0.001, 0.03);

    /// <summary>
    /// The lottery written the obvious way: slots in ordinal id order, each draw a uniform target below the total
    /// (<see cref="SplitMix64.NextBelow"/> from the input's seed) found by a linear scan of the remaining weights;
    /// a drawn bid wins if it fits and its agent has not won (when <see cref="ClearingInput.OneWinPerAgent"/>).
    /// Returns the winners' and the losers' ids in draw order.
    /// </summary>
    public static (List<string> Winners, List<string> Losers) ReferenceLottery(ClearingInput input)
    {
        var slots = Enumerable.Range(0, input.Bids.Count).OrderBy(i => input.Bids[i].Id, StringComparer.Ordinal).ToList();
        var weight = slots.Select(i => input.Bids[i].Amount).ToArray();
        var total = weight.Sum();
        var random = new SplitMix64(input.Seed);
        var remaining = input.Supply;
        var agents = new HashSet<string>(StringComparer.Ordinal);
        var (winners, losers) = (new List<string>(), new List<string>());
        while (total > 0)
        {
            var target = (long)random.NextBelow((ulong)total);
            var s = 0;
            while (target >= weight[s])
                target -= weight[s++];
            total -= weight[s];
            weight[s] = 0;
            var bid = input.Bids[slots[s]];
            if (bid.Bundle.FitsWithin(remaining) && (!input.OneWinPerAgent || agents.Add(bid.AgentId)))
            {
                remaining -= bid.Bundle;
                winners.Add(bid.Id);
            }
            else
                losers.Add(bid.Id);
        }
        return (winners, losers);
    }

    public static IEnumerable<IClearingMechanism> All => ClearingMechanisms.Names.Select(ClearingMechanisms.Create);
}
