using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>Scenarios whose outcome theory predicts: the simulator must reproduce it.</summary>
public class KnownAnswerScenarioTests
{
    [Fact]
    public async Task Boltzmann_wealth_gini_settles_near_one_half()
    {
        var result = await Simulate.RunAsync("boltzmann", agents: 500, cycles: 160, seed: 11);

        var run = result.Runs.ShouldHaveSingleItem();
        run.Cycles[0].WealthGini.ShouldBeLessThan(0.2, "everyone starts with the same wealth");
        var settled = run.Cycles.Skip(120).Average(c => c.WealthGini);
        settled.ShouldBeInRange(0.45, 0.55);
        run.Cycles.ShouldAllBe(c => c.Gifts > 0 && c.ActiveAgents == 0, "only gifts move; nobody bids");
        run.Cycles.ShouldAllBe(c => c.TreasuryIssued == 500 * BoltzmannScenario.StartingWealth, "no income, no charges: the money stock is fixed");
        result.KnownAnswersHold.ShouldBe(true);
    }

    [Fact]
    public async Task Lottery_532_gives_shares_within_two_points_of_50_30_20()
    {
        var result = await Simulate.RunAsync("lottery-532", agents: 3, cycles: 6000, seed: 3, "lottery");

        var run = result.Runs.ShouldHaveSingleItem();
        var wins = run.Agents.ToDictionary(a => a.Group, a => (double)a.Wins / run.Cycles.Count);
        wins["bid-50"].ShouldBeInRange(0.48, 0.52);
        wins["bid-30"].ShouldBeInRange(0.28, 0.32);
        wins["bid-20"].ShouldBeInRange(0.18, 0.22);
        run.Cycles.ShouldAllBe(c => c.Winners == 1, "one unit is sold every cycle");
        result.KnownAnswersHold.ShouldBe(true);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(36)]
    public async Task Los_tight_instance_gives_the_greedy_about_one_over_sqrt_m_of_the_optimum(int m)
    {
        var result = await Simulate.RunAsync("los-tight", agents: m + 1, cycles: 10, seed: 1, "critical-value", "optimal");

        var greedy = result.Runs.Single(r => r.Mechanism == "critical-value");
        var optimal = result.Runs.Single(r => r.Mechanism == "optimal");
        greedy.Cycles.ShouldAllBe(c => c.Efficiency != null && Math.Abs(c.Efficiency.Value - 1 / Math.Sqrt(m)) < 0.02);
        greedy.Cycles.ShouldAllBe(c => c.Winners == 1, "the greedy takes the one big bid first and nothing else fits");
        optimal.Cycles.ShouldAllBe(c => c.Efficiency == 1.0 && c.Winners == m);
        // Small enough to solve exactly, and the LP bound is tight here (the small bids fill the supply exactly).
        result.Runs.SelectMany(r => r.Cycles).ShouldAllBe(c =>
            c.EfficiencyBasis == EfficiencyBasis.Exact && c.OptimalWelfare == m * LosTightScenario.SmallValue && c.WelfareBound == c.OptimalWelfare);
        result.KnownAnswersHold.ShouldBe(true);
    }

    [Fact]
    public async Task Demand_shock_raises_prices_during_the_shock_and_they_come_back_after()
    {
        var result = await Simulate.RunAsync("demand-shock", agents: 400, cycles: 300, seed: 5, "critical-value");

        var run = result.Runs.ShouldHaveSingleItem();
        var (start, end) = DemandShockScenario.ShockWindow(300);
        var index = DemandShockScenario.PriceIndex(run);
        var before = index[50..(start - 1)].Average();
        var during = index[((start + end) / 2)..end].Average();
        var after = index[250..].Average();
        during.ShouldBeGreaterThan(1.3 * before, "excess demand pushes prices up");
        Math.Abs(after / before - 1).ShouldBeLessThan(0.15, "prices settle back once the shock is over");
        // The shock first shows as excess demand at the old prices; the rise in prices is the market's answer to it.
        run.Cycles[start - 1].DemandRatio[0].ShouldBeGreaterThan(1.4);
        run.Cycles.Skip(end - 20).Take(20).Average(c => c.DemandRatio[0]).ShouldBeInRange(0.85, 1.15, "settled: demand meets supply again");
        result.Findings.ShouldContain(f => f.Measure.StartsWith("recovery time") && f.Observed > 0);
        result.Findings.ShouldContain(f => f.Measure == "cpu price volatility" && f.Observed > 0);
        result.KnownAnswersHold.ShouldBe(true);
    }
}
