using CyAgents.Economy.Clearing;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>Properties every mechanism keeps on seeded random instances.</summary>
public sealed class RandomInstanceTests
{
    public static TheoryData<string> Mechanisms => new(ClearingMechanisms.Names);

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public void No_allocation_exceeds_supply_and_no_winner_pays_more_than_its_bid(string name)
    {
        var mechanism = ClearingMechanisms.Create(name);
        var random = new SplitMix64(20261122);
        for (var round = 0; round < 300; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(1, name is "optimal" or "vcg" ? 16 : 120),
                ClearingInstances.ModeratePrices);
            var r = mechanism.Clear(input);

            var granted = r.Winners.Aggregate(ResourceBundle.Zero, (sum, w) => sum + w.Bundle);
            granted.ShouldBe(r.Allocated);
            r.Allocated.FitsWithin(input.Supply).ShouldBeTrue($"round {round}: {r.Allocated} exceeds {input.Supply}");
            r.Supply.ShouldBe(input.Supply);
            foreach (var w in r.Winners)
            {
                w.Payment.ShouldBeInRange(0, w.Amount);
                var bid = input.Bids.Single(b => b.Id == w.BidId);
                (w.Amount, w.AgentId).ShouldBe((bid.Amount, bid.AgentId));
                // proportional grants a scaled part of the bundle; every other mechanism all of it.
                if (name == "proportional")
                    w.Bundle.FitsWithin(bid.Bundle).ShouldBeTrue();
                else
                    w.Bundle.ShouldBe(bid.Bundle);
            }
            r.Winners.Select(w => w.BidId).Concat(r.Losers).Order(StringComparer.Ordinal)
                .ShouldBe(input.Bids.Select(b => b.Id).Order(StringComparer.Ordinal), "every bid is a winner or a loser, once");
            foreach (var kind in ResourceKinds.All)
                r.Utilization(kind).ShouldBeInRange(0, 1);
        }
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public void The_result_does_not_depend_on_the_order_bids_arrive_in(string name)
    {
        var mechanism = ClearingMechanisms.Create(name);
        var random = new SplitMix64(7);
        for (var round = 0; round < 50; round++)
        {
            var input = ClearingInstances.Random(random, 14, ClearingInstances.ModeratePrices);
            var shuffled = input with { Bids = input.Bids.Reverse().ToArray() };
            var a = mechanism.Clear(input);
            var b = mechanism.Clear(shuffled);
            b.Winners.ShouldBe(a.Winners);
            b.Losers.ShouldBe(a.Losers);
        }
    }

    [Fact]
    public void No_mechanism_ever_beats_the_welfare_of_optimal()
    {
        var random = new SplitMix64(99);
        for (var round = 0; round < 100; round++)
        {
            var input = ClearingInstances.Random(random, 12, ClearingInstances.ModeratePrices);
            var optimum = new OptimalMechanism().Clear(input).Welfare;
            // proportional's welfare counts whole amounts for scaled grants, so it is no allocation of whole bundles.
            foreach (var mechanism in ClearingInstances.All.Where(m => m.Name != "proportional"))
                mechanism.Clear(input).Welfare.ShouldBeLessThanOrEqualTo(optimum, mechanism.Name);
        }
    }

    [Fact]
    public void Optimal_matches_brute_force_enumeration_of_every_subset()
    {
        var random = new SplitMix64(31);
        for (var round = 0; round < 150; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(1, 13));
            long best = 0;
            for (var mask = 0; mask < 1 << input.Bids.Count; mask++)
            {
                var used = ResourceBundle.Zero;
                long welfare = 0;
                for (var i = 0; i < input.Bids.Count; i++)
                {
                    if ((mask & (1 << i)) == 0)
                        continue;
                    used += input.Bids[i].Bundle;
                    welfare += input.Bids[i].Amount;
                }
                if (used.FitsWithin(input.Supply))
                    best = Math.Max(best, welfare);
            }
            new OptimalMechanism().Clear(input).Welfare.ShouldBe(best, $"round {round}");
        }
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public void No_bids_clear_to_an_empty_result(string name)
    {
        var r = ClearingMechanisms.Create(name).Clear(ClearingInstances.Input([], cpu: 1000));
        r.Winners.ShouldBeEmpty();
        r.Losers.ShouldBeEmpty();
        r.Allocated.ShouldBe(ResourceBundle.Zero);
        (r.Welfare, r.Revenue).ShouldBe((0L, 0L));
    }

    [Theory]
    [MemberData(nameof(Mechanisms))]
    public void The_same_input_and_seed_give_the_same_result_every_time(string name)
    {
        var input = ClearingInstances.Random(new SplitMix64(3), 30, ClearingInstances.ModeratePrices);
        var first = ClearingMechanisms.Create(name).Clear(input);
        var second = ClearingMechanisms.Create(name).Clear(input);
        second.Winners.ShouldBe(first.Winners);
        second.Losers.ShouldBe(first.Losers);
    }

    [Fact]
    public void Different_lottery_seeds_draw_different_winners()
    {
        var input = ClearingInstances.Random(new SplitMix64(4), 30);
        var outcomes = Enumerable.Range(0, 20)
            .Select(seed => string.Join(",", new LotteryMechanism().Clear(input with { Seed = (ulong)seed }).Winners.Select(w => w.BidId)))
            .Distinct().Count();
        outcomes.ShouldBeGreaterThan(5);
    }
}
