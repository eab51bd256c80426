using Xunit.Abstractions;
using CyAgents.Economy.Clearing;
using static CyAgents.Economy.Tests.Clearing.ClearingInstances;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>The Lagrangian (LP) upper bound on optimal welfare: never below the optimum, tight where theory says so.</summary>
public sealed class WelfareBoundTests(ITestOutputHelper output)
{
    [Fact]
    public void Bound_is_never_below_the_exact_optimum_on_200_seeded_small_instances()
    {
        var optimal = new OptimalMechanism();
        var random = new SplitMix64(14);
        var gaps = new List<double>();
        for (var round = 0; round < 200; round++)
        {
            var input = Random(random, (int)random.NextInRange(5, 21));
            var exact = optimal.Clear(input).Welfare;
            var bound = WelfareBound.UpperBound(input);
            bound.ShouldBeGreaterThanOrEqualTo(exact, $"instance {round}");
            gaps.Add(exact == 0 ? 0 : (double)bound / exact - 1);
        }
        output.WriteLine($"bound / optimum - 1: mean {gaps.Average():F4}, max {gaps.Max():F4} over {gaps.Count} instances");
        // The LP relaxation of these instances is loose by a few percent; a bound far above that is a broken search.
        gaps.Average().ShouldBeLessThan(0.15);
    }

    [Fact]
    public void One_kind_gives_the_fractional_knapsack_value()
    {
        // Densities 10, 6, 4 per unit; capacity 50: take 10 units (100) + 20 units (120) + 20 of 30 units of the third (80).
        var input = Input([Bid("a", 100, cpu: 10), Bid("b", 120, cpu: 20), Bid("c", 120, cpu: 30)], cpu: 50);
        WelfareBound.UpperBound(input).ShouldBe(300);
        new OptimalMechanism().Clear(input).Welfare.ShouldBe(240);
    }

    [Fact]
    public void Bids_that_all_fit_give_their_sum()
    {
        var input = Input([Bid("a", 7, cpu: 1, memory: 5), Bid("b", 9, cpu: 2, memory: 1)], cpu: 10, memory: 10);
        WelfareBound.UpperBound(input).ShouldBe(16);
    }

    [Fact]
    public void Two_binding_kinds_are_bounded_by_their_joint_price()
    {
        // Every pair of bids shares a kind with room for one, so only one bid wins (OPT = 10); the LP takes half of
        // each (value 15), and its dual, prices 5 on each kind, proves 15: the bound is the LP's, not looser.
        var input = Input([Bid("a", 10, cpu: 1, memory: 1), Bid("b", 10, cpu: 1, tokens: 1), Bid("c", 10, memory: 1, tokens: 1)],
            cpu: 1, memory: 1, tokens: 1);
        new OptimalMechanism().Clear(input).Welfare.ShouldBe(10);
        WelfareBound.UpperBound(input).ShouldBe(15);
    }

    [Fact]
    public void No_bids_bound_nothing() => WelfareBound.UpperBound(Input([], cpu: 1)).ShouldBe(0);

    [Fact]
    public void Bound_is_computed_for_100000_bids_between_the_greedy_and_the_sum()
    {
        var input = Random(new SplitMix64(100_000), 100_000);
        var timer = System.Diagnostics.Stopwatch.StartNew();
        var bound = WelfareBound.UpperBound(input);
        timer.Stop();
        var greedy = new FirstPriceMechanism().Clear(input).Welfare;
        bound.ShouldBeGreaterThanOrEqualTo(greedy);
        bound.ShouldBeLessThan(input.Bids.Sum(b => b.Amount));
        output.WriteLine($"100,000 bids: greedy {greedy}, bound {bound}, greedy / bound {(double)greedy / bound:F4}, {timer.ElapsedMilliseconds} ms");
    }
}
