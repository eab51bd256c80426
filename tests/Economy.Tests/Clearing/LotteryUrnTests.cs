using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// The lottery's urn (ADR 0146) holds its running sums in 32 bits when the bids' total fits, in 64 bits otherwise,
/// with 16 or 8 children a node. Each path, at totals either side of 2^32 and at counts either side of a full node
/// and a full level, draws exactly what a linear scan over the weights draws: same winners, same losers, same order.
/// </summary>
public sealed class LotteryUrnTests
{
    private const long Boundary = 1L << 32;

    public static TheoryData<int, long> CountsAndTotals()
    {
        var data = new TheoryData<int, long>();
        // 1 slot; one node of 8 and of 16, and one more; two levels of each, and one more; several levels.
        foreach (var count in new[] { 1, 2, 8, 9, 16, 17, 32, 33, 64, 65, 256, 257, 600, 1024, 1025, 4097 })
        foreach (var total in new[] { Boundary - 1, Boundary, Boundary + 1 })
            if (total >= count)
                data.Add(count, total);
        data.Add(5000, 1000L * 5000);
        data.Add(5000, ClearingValidation.MaxAmount * 4000);
        return data;
    }

    [Theory]
    [MemberData(nameof(CountsAndTotals))]
    public void Draws_equal_a_linear_scan_whatever_width_the_sums_need(int count, long total)
    {
        foreach (var seed in new ulong[] { 0, 1, 0xDEADBEEF })
        foreach (var oneWinPerAgent in new[] { true, false })
        {
            var input = Instance(count, total, seed) with { OneWinPerAgent = oneWinPerAgent };
            input.Bids.Sum(b => b.Amount).ShouldBe(total);
            var (winners, losers) = ClearingInstances.ReferenceLottery(input);
            var actual = new LotteryMechanism().Clear(input);
            actual.Winners.Select(w => w.BidId).ShouldBe(winners);
            actual.Losers.ShouldBe(losers);
            actual.Winners.ShouldAllBe(w => w.Payment == w.Amount);
        }
    }

    [Fact]
    public void A_bid_heavier_than_all_others_together_is_still_drawn_in_proportion()
    {
        // One bid of 2^32 - 2 beside one of 1 (32-bit sums) and beside one of 2 (64-bit): the light one is drawn
        // first only when the target falls in its range, which a seed-by-seed scan decides the same way.
        foreach (var light in new long[] { 1, 2 })
        for (var seed = 0UL; seed < 200; seed++)
        {
            var input = ClearingInstances.Input([ClearingInstances.Bid("heavy", Boundary - 2, cpu: 1), ClearingInstances.Bid("light", light, cpu: 1)],
                cpu: 1, seed: seed);
            new LotteryMechanism().Clear(input).Winners.Select(w => w.BidId).ShouldBe(ClearingInstances.ReferenceLottery(input).Winners);
        }
    }

    /// <summary>
    /// <paramref name="count"/> bids whose amounts sum to exactly <paramref name="total"/> (uneven: a few heavy
    /// ones among many light), ids shuffled against their order, agents shared so one win per agent binds.
    /// </summary>
    private static ClearingInput Instance(int count, long total, ulong seed)
    {
        var random = new SplitMix64(seed * 31 + (ulong)count);
        var amounts = new long[count];
        var left = total;
        for (var i = 0; i < count - 1; i++)
        {
            // Leave at least 1 for each bid still to come, and never more than the largest allowed bid.
            var most = Math.Min(ClearingValidation.MaxAmount, left - (count - 1 - i));
            var share = random.NextBelow(8) == 0 ? left / 4 : left / (count - i) / 2;
            amounts[i] = Math.Clamp(share + random.NextInRange(0, Math.Max(1, share)), 1, most);
            left -= amounts[i];
        }
        amounts[^1] = 0;
        // What is left goes to the last bid, and past the largest allowed bid to the others from the end.
        for (var i = count - 1; left > 0; i--)
        {
            var add = Math.Min(left, ClearingValidation.MaxAmount - amounts[i]);
            amounts[i] += add;
            left -= add;
        }
        var bids = new Bid[count];
        for (var i = 0; i < count; i++)
        {
            var id = $"bid-{random.NextBelow(1_000_000):D6}-{i}";
            bids[i] = new Bid(id, $"agent-{i % Math.Max(1, count / 3)}",
                ResourceBundle.Create(random.NextInRange(1, 40), random.NextBelow(3) == 0 ? 0 : random.NextInRange(1, 40)), amounts[i]);
        }
        var supply = Math.Max(60, 10L * count);
        return new ClearingInput(bids, ResourceBundle.Create(supply, supply), MarketPrices.Zero, seed);
    }
}
