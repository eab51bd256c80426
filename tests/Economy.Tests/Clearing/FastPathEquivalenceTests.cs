using System.Numerics;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// The clearing fast paths of ADR 0126 (radix sorts of packed keys, ids and agents grouped by sorting their packed
/// prefixes, the lottery's urn of running sums) against plain reference implementations written the obvious way:
/// comparer sorts on exact rational keys, a set of agents, a linear scan for each lottery draw. The instances are
/// built to reach every fallback: exact and near ties, ids and agents equal beyond the packed prefix, non-ASCII
/// ids, long shared prefixes.
/// </summary>
public sealed class FastPathEquivalenceTests
{
    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 24)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void First_price_equals_a_comparer_sort_on_exact_densities(int seed)
    {
        var input = Instance(seed);
        var expected = ReferenceGreedy(input, power: 1);
        var actual = new FirstPriceMechanism().Clear(input);
        actual.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe(expected.Select(i => (input.Bids[i].Id, input.Bids[i].Amount)));
        actual.Losers.Count.ShouldBe(input.Bids.Count - expected.Count);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Critical_value_winners_equal_a_comparer_sort_on_exact_keys(int seed)
    {
        var input = Instance(seed);
        var expected = ReferenceGreedy(input, power: 2);
        new CriticalValueMechanism().Clear(input).Winners.Select(w => w.BidId).ShouldBe(expected.Select(i => input.Bids[i].Id));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Posted_price_equals_a_comparer_sort_on_surplus_amount_and_id(int seed)
    {
        var input = Instance(seed);
        var cost = input.Bids.Select(b => input.Prices.CostOf(b.Bundle)).ToArray();
        var order = Enumerable.Range(0, input.Bids.Count).ToList();
        order.Sort((a, b) =>
        {
            var c = (input.Bids[b].Amount - cost[b]).CompareTo(input.Bids[a].Amount - cost[a]);
            if (c == 0)
                c = input.Bids[b].Amount.CompareTo(input.Bids[a].Amount);
            return c != 0 ? c : string.CompareOrdinal(input.Bids[a].Id, input.Bids[b].Id);
        });
        var expected = Take(input, order.Where(i => input.Bids[i].Amount >= cost[i]));
        var actual = new PostedPriceMechanism().Clear(input);
        actual.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe(expected.Select(i => (input.Bids[i].Id, cost[i])));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Lottery_draws_equal_a_linear_scan_over_the_ids_in_ordinal_order(int seed)
    {
        var input = Instance(seed);
        var (winners, losers) = ClearingInstances.ReferenceLottery(input);
        var actual = new LotteryMechanism().Clear(input);
        actual.Winners.Select(w => w.BidId).ShouldBe(winners);
        actual.Losers.ShouldBe(losers);
    }

    [Theory]
    [InlineData("bid-00000000000000000000x", "bid-00000000000000000000y")]
    [InlineData("ëid-1", "ëid-2")]
    [InlineData("a", "a\0")]
    public void Ids_equal_in_their_packed_prefix_but_different_are_distinct(string first, string second)
    {
        var r = new FirstPriceMechanism().Clear(ClearingInstances.Input(
            [ClearingInstances.Bid(first, 10, cpu: 1), ClearingInstances.Bid(second, 10, cpu: 1)], cpu: 2));
        r.Winners.Select(w => w.BidId).ShouldBe([first, second]);
    }

    [Theory]
    [InlineData("bid-00000000000000000000x")]
    [InlineData("ëid-1")]
    [InlineData("b")]
    public void A_duplicate_id_is_refused_however_long_or_wide(string id)
    {
        var input = ClearingInstances.Input([ClearingInstances.Bid("other-long-prefix", 5, cpu: 1),
            ClearingInstances.Bid(id, 10, cpu: 1), ClearingInstances.Bid(id, 10, cpu: 1)], cpu: 3);
        foreach (var mechanism in new IClearingMechanism[] { new FirstPriceMechanism(), new CriticalValueMechanism(), new LotteryMechanism() })
            Should.Throw<ClearingInputException>(() => mechanism.Clear(input)).Message.ShouldContain("duplicate bid id");
    }

    [Theory]
    [InlineData("agent-0000000000000000000000a", "agent-0000000000000000000000b")]
    [InlineData("ägent-1", "ägent-2")]
    public void Agents_equal_in_their_packed_prefix_but_different_win_one_each(string first, string second)
    {
        Bid Of(string id, string agent) => new(id, agent, ResourceBundle.Create(1), 10);
        var input = ClearingInstances.Input([Of("b1", first), Of("b2", first), Of("b3", second), Of("b4", second)], cpu: 4);
        foreach (var mechanism in new IClearingMechanism[] { new FirstPriceMechanism(), new CriticalValueMechanism(), new PostedPriceMechanism(), new LotteryMechanism() })
            mechanism.Clear(input).Winners.Select(w => w.AgentId).Order(StringComparer.Ordinal).ShouldBe([first, second]);
    }

    /// <summary>
    /// Few shapes and amounts (many exact ties, and near ties where scaled bundles round differently), agents with
    /// several bids, ids in shuffled order; every third instance has long shared id prefixes or non-ASCII ids.
    /// </summary>
    private static ClearingInput Instance(int seed)
    {
        var random = new SplitMix64((ulong)seed * 7919);
        var n = (int)random.NextInRange(1, 400);
        long[][] shapes = [[1, 0, 0, 0], [2, 0, 0, 0], [1, 1, 0, 0], [3, 2, 0, 1], [0, 0, 5, 0], [7, 3, 11, 2], [1050, 3315, 0, 0], [350, 1105, 0, 0]];
        var prefix = (seed % 3) switch { 0 => "", 1 => "cycle-0000000000000000042:", _ => "zß" };
        var bids = new List<Bid>();
        for (var i = 0; i < n; i++)
        {
            var shape = shapes[random.NextBelow((ulong)shapes.Length)];
            var f = random.NextInRange(1, 4);
            var id = $"{prefix}{random.NextBelow(1_000_000_000):D9}x{i}";
            var agent = $"{prefix}agent{random.NextBelow((ulong)Math.Max(1, n / 3))}";
            bids.Add(new Bid(id, agent, ResourceBundle.Create(shape[0] * f, shape[1] * f, shape[2] * f, shape[3] * f),
                random.NextInRange(1, 7) * f * (shape[0] == 1050 ? 3 : 1)));
        }
        var supply = ResourceBundle.Create(Math.Max(3150, n * 40), Math.Max(9945, n * 120), Math.Max(33, n), Math.Max(6, n / 4));
        return new ClearingInput(bids, supply, new MarketPrices(0.3, 0.7, 0.1, 1.5), random.NextUInt64());
    }

    /// <summary>Greedy by the exact key amount^power / size (size = N / lcm, compared as BigInteger), ties by ordinal id, one win per agent.</summary>
    private static List<int> ReferenceGreedy(ClearingInput input, int power)
    {
        long[] s = [input.Supply.CpuMillicores, input.Supply.MemoryMiB, input.Supply.Tokens, input.Supply.AttentionBasisPoints];
        var lcm = s.Where(x => x > 0).Aggregate(BigInteger.One, (l, x) => l / BigInteger.GreatestCommonDivisor(l, x) * x);
        BigInteger Numerator(Bid b) => Enumerable.Range(0, 4).Aggregate(BigInteger.Zero, (sum, k) =>
            s[k] == 0 ? sum : sum + b.Bundle[(ResourceKind)k] * (lcm / s[k]));
        var numerator = input.Bids.Select(Numerator).ToArray();
        var order = Enumerable.Range(0, input.Bids.Count).ToList();
        order.Sort((a, b) =>
        {
            var c = (BigInteger.Pow(input.Bids[b].Amount, power) * numerator[a]).CompareTo(BigInteger.Pow(input.Bids[a].Amount, power) * numerator[b]);
            return c != 0 ? c : string.CompareOrdinal(input.Bids[a].Id, input.Bids[b].Id);
        });
        return Take(input, order);
    }

    /// <summary>Takes bids in the given order while they fit, at most one per agent.</summary>
    private static List<int> Take(ClearingInput input, IEnumerable<int> order)
    {
        var remaining = input.Supply;
        var agents = new HashSet<string>(StringComparer.Ordinal);
        var taken = new List<int>();
        foreach (var i in order)
        {
            var bid = input.Bids[i];
            if (!bid.Bundle.FitsWithin(remaining) || agents.Contains(bid.AgentId))
                continue;
            agents.Add(bid.AgentId);
            remaining -= bid.Bundle;
            taken.Add(i);
        }
        return taken;
    }
}
