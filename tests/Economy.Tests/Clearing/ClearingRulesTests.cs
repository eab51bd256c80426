using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using static CyAgents.Economy.Tests.Clearing.ClearingInstances;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>
/// The clearing rules of ADRs 0120–0123: exact ties in id order, the posted cost rounded up exactly, one win per
/// agent, and reserve prices. The tie instances were searched for so that the keys are equal as rationals but the
/// floating-point keys differ by one ulp, the later id's being the larger: a float sort lets the later id win.
/// </summary>
public sealed class ClearingRulesTests
{
    // Density amount / (cpu/3000 + memory/7000): 1311 / (1050/3000 + 3315/7000) = 437 / (350/3000 + 1105/7000)
    // exactly, but in doubles the second is larger (1591.8473547267995 < ...997).
    private static readonly Bid DensityA = Bid("a", 1311, cpu: 1050, memory: 3315);
    private static readonly Bid DensityB = Bid("b", 437, cpu: 350, memory: 1105);

    [Fact]
    public void Keys_equal_as_rationals_differ_in_floating_point_in_these_instances()
    {
        static double Density(long amount, long cpu, long memory) => amount / ((double)cpu / 3000 + (double)memory / 7000);
        Density(1311, 1050, 3315).ShouldBeLessThan(Density(437, 350, 1105));
        // 1311 * 7000 * ... cross-multiplied: equal densities <=> 1311 * N_b == 437 * N_a with N = 7 cpu + 3 memory.
        (1311L * (7 * 350 + 3 * 1105)).ShouldBe(437L * (7 * 1050 + 3 * 3315));
        static double Key(long amount, long cpu, long memory) => amount / Math.Sqrt((double)cpu / 3000 + (double)memory / 7000);
        Key(213, 307, 49).ShouldBeLessThan(Key(639, 2763, 441));
        // amount^2 / size: 213^2 * N(2763, 441) == 639^2 * N(307, 49), since the second bundle is 9 times the first.
        (213L * 213 * (7 * 2763 + 3 * 441)).ShouldBe(639L * 639 * (7 * 307 + 3 * 49));
    }

    [Fact]
    public void First_price_exact_tie_goes_to_the_smaller_id_and_charges_its_bid()
    {
        // "big" takes enough that only one of a and b fits after it.
        var big = Bid("big", 1_000_000, cpu: 1950, memory: 2585);
        var r = new FirstPriceMechanism().Clear(Input([DensityB, DensityA, big], cpu: 3000, memory: 7000));
        r.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("big", 1_000_000), ("a", 1311)]);
        r.Losers.ShouldBe(["b"]);
    }

    [Fact]
    public void Critical_value_exact_tie_goes_to_the_smaller_id_which_pays_exactly_its_bid()
    {
        // 307 + 2763 > 3000 CPU: only one of the two fits; their keys are exactly equal.
        var a = Bid("a", 213, cpu: 307, memory: 49);
        var b = Bid("b", 639, cpu: 2763, memory: 441);
        var r = new CriticalValueMechanism().Clear(Input([b, a], cpu: 3000, memory: 7000));
        r.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 213L)]);
        r.Losers.ShouldBe(["b"]);
    }

    [Theory]
    [InlineData("a", 213)] // at 213 its key equals the blocker's exactly and "a" < "b": 213 still wins
    [InlineData("z", 214)] // the same, but "z" > "b" loses the tie: one credit more
    public void Critical_value_payment_at_an_exact_tie_with_the_blocker_follows_the_id_order(string winnerId, long payment)
    {
        var winner = Bid(winnerId, 300, cpu: 307, memory: 49);
        var blocker = Bid("b", 639, cpu: 2763, memory: 441);
        var r = new CriticalValueMechanism().Clear(Input([blocker, winner], cpu: 3000, memory: 7000));
        r.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([(winnerId, payment)]);
    }

    [Fact]
    public void Exact_ties_hold_when_the_supplies_lcm_needs_arbitrary_precision()
    {
        // Supplies with a huge lcm take the BigInteger path; scaling every bundle and the supply keeps the tie.
        const long f = 1_000_003;
        var a = Bid("a", 213, cpu: 307 * f, memory: 49 * 999_983, tokens: 1);
        var b = Bid("b", 639, cpu: 2763 * f, memory: 441 * 999_983, tokens: 9);
        var r = new CriticalValueMechanism().Clear(Input([b, a], cpu: 3000 * f, memory: 7000L * 999_983, tokens: 999_999_937));
        r.Winners.Select(w => w.BidId).ShouldBe(["a"]);
    }

    [Fact]
    public void Posted_cost_is_the_exact_ceiling_with_no_tolerance()
    {
        // The example of the issue: a cost of 1.0000000001 is 2 credits, never 1.
        new MarketPrices(1.0000000001, 0, 0, 0).CostOf(ResourceBundle.Create(1)).ShouldBe(2);
        new MarketPrices(0.1, 0, 0, 0).CostOf(ResourceBundle.Create(10)).ShouldBe(1);
        // 0.07 * 100 is 7.000000000000001 in doubles; the price 0.07 is read as seven hundredths: exactly 7.
        new MarketPrices(0.07, 0, 0, 0).CostOf(ResourceBundle.Create(100)).ShouldBe(7);
        new MarketPrices(0.07, 0, 0, 0).CostOf(ResourceBundle.Create(101)).ShouldBe(8);
        new MarketPrices(0, 0, 0, 0).CostOf(ResourceBundle.Create(5)).ShouldBe(0);
        // Any positive cost, however small, is at least one credit.
        new MarketPrices(1e-30, 10_000, 0, 0).CostOf(ResourceBundle.Create(1_000_000_000_000)).ShouldBe(1);
        new MarketPrices(1e-30, 10_000, 0, 0).CostOf(ResourceBundle.Create(1_000_000_000_000, 3)).ShouldBe(30_001);
        new MarketPrices(1e300, 0, 0, 0).CostOf(ResourceBundle.Create(1)).ShouldBe(long.MaxValue);
    }

    [Theory]
    [InlineData(1, false, 0)]
    [InlineData(2, true, 2)]
    [InlineData(3, true, 2)]
    public void Posted_price_at_a_cost_just_above_one_credit_charges_two(long amount, bool wins, long payment)
    {
        var r = new PostedPriceMechanism().Clear(Input([Bid("x", amount, cpu: 1)], cpu: 10, prices: new MarketPrices(1.0000000001, 0, 0, 0)));
        r.Winners.Count.ShouldBe(wins ? 1 : 0);
        if (wins)
            r.Winners[0].Payment.ShouldBe(payment);
    }

    /// <summary>
    /// The shill of the issue, by hand: A (value 100 for 60 of 100 CPU) wins and, blocked by B, pays 79. A second,
    /// small bid t of A's that ranks between them takes 6 CPU, so B would no longer fit even without A: without the
    /// one-win rule both of A's bids win and pay 0, a gain of 79.
    /// </summary>
    [Fact]
    public void Without_one_win_per_agent_a_small_second_bid_makes_both_win_for_nothing()
    {
        var a = Bid("a", 100, cpu: 60, agent: "A");
        var blocker = Bid("b", 99, cpu: 95, agent: "B");
        var shill = Bid("t", 30, cpu: 6, agent: "A");
        var mechanism = new CriticalValueMechanism();

        mechanism.Clear(Input([a, blocker], cpu: 100)).Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 79L)]);
        var off = mechanism.Clear(Input([a, blocker, shill], cpu: 100) with { OneWinPerAgent = false });
        off.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 0L), ("t", 0L)]);

        // With the rule, t is A's alternative: A wins once and pays what t's ranking asks, more than before.
        var on = mechanism.Clear(Input([a, blocker, shill], cpu: 100));
        on.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 95L)]);
        on.Losers.ShouldBe(["t", "b"]);
    }

    [Fact]
    public void Every_greedy_mechanism_gives_an_agent_at_most_one_winning_bid()
    {
        var bids = new[]
        {
            Bid("a1", 50, cpu: 10, agent: "A"), Bid("a2", 40, cpu: 10, agent: "A"), Bid("a3", 30, cpu: 10, agent: "A"),
            Bid("b1", 20, cpu: 10, agent: "B"),
        };
        foreach (var mechanism in new IClearingMechanism[] { new FirstPriceMechanism(), new CriticalValueMechanism(), new PostedPriceMechanism(), new LotteryMechanism() })
        {
            var r = mechanism.Clear(Input(bids, cpu: 100));
            r.Winners.Count(w => w.AgentId == "A").ShouldBe(1, mechanism.Name);
            r.Winners.ShouldContain(w => w.BidId == "b1", mechanism.Name);
            mechanism.Clear(Input(bids, cpu: 100) with { OneWinPerAgent = false }).Winners.Count.ShouldBe(4, mechanism.Name);
        }
        new FirstPriceMechanism().Clear(Input(bids, cpu: 100)).Winners.Select(w => w.BidId).ShouldBe(["a1", "b1"]);
    }

    [Fact]
    public void A_capacity_blocked_first_choice_lets_the_agents_next_bid_win()
    {
        // A's first choice does not fit after B; its second one does, and wins.
        var r = new FirstPriceMechanism().Clear(Input(
            [Bid("b", 1000, cpu: 60, agent: "B"), Bid("a1", 500, cpu: 50, agent: "A"), Bid("a2", 100, cpu: 40, agent: "A")], cpu: 100));
        r.Winners.Select(w => w.BidId).ShouldBe(["b", "a2"]);
    }

    // Reserve 0.5 credits per millicore: a 60-CPU bundle's reserve is 30 credits.
    private static readonly MarketPrices HalfCreditPerMillicore = new(0.5, 0, 0, 0);

    [Fact]
    public void First_price_reserve_a_bid_below_it_loses_even_uncontested()
    {
        var input = Input([Bid("low", 29, cpu: 60), Bid("ok", 30, cpu: 40)], cpu: 100) with { Reserve = HalfCreditPerMillicore };
        var r = new FirstPriceMechanism().Clear(input);
        // "ok" asks 40 CPU: reserve 20, bid 30, pays its bid.
        r.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("ok", 30L)]);
        r.Losers.ShouldBe(["low"]);
    }

    [Fact]
    public void Critical_value_reserve_an_uncontested_winner_pays_the_reserve_not_zero()
    {
        var bids = new[] { Bid("a", 100, cpu: 60) };
        new CriticalValueMechanism().Clear(Input(bids, cpu: 100)).Winners[0].Payment.ShouldBe(0);
        var r = new CriticalValueMechanism().Clear(Input(bids, cpu: 100) with { Reserve = HalfCreditPerMillicore });
        r.Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 30L)]);
    }

    [Fact]
    public void Critical_value_reserve_the_payment_is_the_larger_of_critical_value_and_reserve()
    {
        // a blocked by b pays 79 without a reserve; a reserve of 0.5/mCPU (30 for a) leaves it at 79; at 1.5/mCPU b's
        // reserve (142.5) is above its bid and a pays its own reserve, 90.
        var bids = new[] { Bid("a", 100, cpu: 60, agent: "A"), Bid("b", 99, cpu: 95, agent: "B") };
        var mechanism = new CriticalValueMechanism();
        mechanism.Clear(Input(bids, cpu: 100) with { Reserve = HalfCreditPerMillicore }).Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 79L)]);
        mechanism.Clear(Input(bids, cpu: 100) with { Reserve = new MarketPrices(1.5, 0, 0, 0) }).Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 90L)]);
        // At 1.05/mCPU b's reserve (99.75, so 100) is above its bid: b is out and a pays its own reserve, 63.
        mechanism.Clear(Input(bids, cpu: 100) with { Reserve = new MarketPrices(1.05, 0, 0, 0) }).Winners.Select(w => (w.BidId, w.Payment)).ShouldBe([("a", 63L)]);
        mechanism.Clear(Input(bids, cpu: 100) with { Reserve = new MarketPrices(1.7, 0, 0, 0) }).Winners.ShouldBeEmpty();
    }

    [Fact]
    public void Critical_value_with_a_reserve_wins_at_its_payment_and_loses_one_credit_below()
    {
        var random = new SplitMix64(99);
        var mechanism = new CriticalValueMechanism();
        var checkedWinners = 0;
        for (var round = 0; round < 300; round++)
        {
            var input = Random(random, (int)random.NextInRange(2, 15)) with { Reserve = ModeratePrices };
            foreach (var w in mechanism.Clear(input).Winners)
            {
                Bid[] WithAmount(long amount) => input.Bids.Select(b => b.Id == w.BidId ? b with { Amount = amount } : b).ToArray();
                w.Payment.ShouldBeGreaterThanOrEqualTo(ModeratePrices.CostOf(w.Bundle));
                mechanism.Clear(input with { Bids = WithAmount(Math.Max(1, w.Payment)) }).Winners.ShouldContain(x => x.BidId == w.BidId);
                if (w.Payment > 1)
                    mechanism.Clear(input with { Bids = WithAmount(w.Payment - 1) }).Winners.ShouldNotContain(x => x.BidId == w.BidId);
                checkedWinners++;
            }
        }
        checkedWinners.ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Lottery_draws_do_not_depend_on_the_order_bids_arrive_in_whatever_their_ids_share()
    {
        // Ids with long shared prefixes, prefixes of each other, and a NUL char: the fast id order must be ordinal.
        string[] ids = ["x-000", "x-0000", "x-00", "x-0\u00000", "x-0\u0000", "x-1", "x-10", "x-0001", "x-00010", "x-000100"];
        var bids = ids.Select((id, i) => Bid(id, 10 + i, cpu: 1)).ToArray();
        var lottery = new LotteryMechanism();
        for (ulong seed = 0; seed < 50; seed++)
        {
            var forward = lottery.Clear(Input(bids, cpu: 3, seed: seed));
            var backward = lottery.Clear(Input(bids.Reverse().ToArray(), cpu: 3, seed: seed));
            var sorted = lottery.Clear(Input(bids.OrderBy(b => b.Id, StringComparer.Ordinal).ToArray(), cpu: 3, seed: seed));
            backward.Winners.ShouldBe(forward.Winners);
            sorted.Winners.ShouldBe(forward.Winners);
            backward.Losers.ShouldBe(forward.Losers);
        }
    }
}
