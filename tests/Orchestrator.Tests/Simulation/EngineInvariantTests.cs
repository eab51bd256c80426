using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Simulation.Scenarios;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>The simulator runs the real ledger: its invariants hold after every cycle, in every scenario.</summary>
public class EngineInvariantTests
{
    public static TheoryData<string, int, int> EveryScenario => new()
    {
        { "market", 150, 40 },
        { "boltzmann", 150, 40 },
        { "lottery-532", 6, 200 },
        { "los-tight", 10, 20 },
        { "demand-shock", 150, 60 },
        { "sybil", 120, 40 },
        { "scale", 1000, 5 },
        { "tasks", 120, 40 },
    };

    [Fact]
    public void Every_scenario_in_the_catalog_is_covered_here() =>
        EveryScenario.Select(row => (string)row[0]).Order().ShouldBe(ScenarioCatalog.All.Select(s => s.Name).Order());

    [Theory]
    [MemberData(nameof(EveryScenario))]
    public async Task Conservation_holds_after_every_cycle_under_every_default_mechanism(string scenario, int agents, int cycles)
    {
        var result = await Simulate.RunAsync(scenario, agents, cycles, seed: 17);

        result.Runs.ShouldNotBeEmpty();
        foreach (var run in result.Runs)
        {
            run.Cycles.Count.ShouldBe(cycles);
            run.Cycles.ShouldAllBe(c => c.Conserved, $"{run.Variant}/{run.Mechanism}");
            run.FinalWealth.ShouldAllBe(w => w >= 0);
            // Whatever the treasury issued is held by agents: escrow is empty after each settlement.
            run.FinalWealth.Sum().ShouldBe(run.Cycles[^1].TreasuryIssued);
        }
    }

    [Fact]
    public async Task Market_under_every_mechanism_keeps_allocations_within_supply()
    {
        var result = await Simulate.RunAsync("market", agents: 30, cycles: 30, seed: 2,
            "first-price", "critical-value", "posted-price", "lottery", "optimal");

        result.Runs.Count.ShouldBe(5);
        foreach (var run in result.Runs)
        {
            run.Cycles.ShouldAllBe(c => c.Conserved && c.Utilization.All(u => u >= 0 && u <= 1));
            run.Cycles.ShouldAllBe(c => c.Efficiency == null || (c.Efficiency >= 0 && c.Efficiency <= 1 + 1e-9));
        }
        // Efficiency is measured on true values; optimal maximizes reported ones, which shading and noise distort.
        result.Runs.Single(r => r.Mechanism == "optimal").Cycles.ShouldContain(c => c.Efficiency != null);
    }

    [Fact]
    public async Task Sybil_children_are_funded_from_their_parent_and_the_family_keeps_its_income()
    {
        var result = await Simulate.RunAsync("sybil", agents: 80, cycles: 20, seed: 4, "critical-value");

        var honest = result.Runs.Single(r => r.Variant == "honest");
        var sybil = result.Runs.Single(r => r.Variant == "sybil");
        var spawners = honest.Agents.Count(a => a.Strategy == BiddingStrategy.Spawner);
        spawners.ShouldBe(20);
        honest.Agents.Count.ShouldBe(80);
        sybil.Agents.Count.ShouldBe(80 + SybilScenario.Children * spawners);
        sybil.Agents.Where(a => a.IsChild).ShouldAllBe(a => a.Group == SybilScenario.SpawnerGroup && a.Endowment == 0);
        foreach (var parent in sybil.Agents.Where(a => a.Strategy == BiddingStrategy.Spawner))
        {
            var family = sybil.Agents.Where(a => a.FamilyRoot == parent.Index).ToList();
            family.Count.ShouldBe(SybilScenario.Children + 1);
            family.Sum(a => a.Income).ShouldBe(honest.Agents[parent.Index].Income);
        }
        // Spawn fees go to the treasury: the sybil economy has that much less outstanding after the first cycle's income.
        sybil.Cycles.ShouldAllBe(c => c.Conserved);
        result.Findings.ShouldContain(f => f.Measure == "spawners' utility gain from splitting");
    }
}
