using System.Text.Json;
using CyAgents.Economy.Clearing;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>
/// A run takes each cycle's draws during the cycle before, on another core (ADR 0150). That must change no number: the
/// rows of a run equal those of the same cycles stepped one by one with every draw taken in its own cycle, in scenarios
/// with gifts (the random stream's other user), a spawn (a change of population), a demand shock and a task board.
/// </summary>
public sealed class TwoCoreCycleTests
{
    [Theory]
    [InlineData("market", 200, 30, "critical-value")]
    [InlineData("boltzmann", 200, 30, "critical-value")]
    [InlineData("sybil", 120, 25, "lottery")]
    [InlineData("demand-shock", 150, 45, "posted-price")]
    [InlineData("tasks", 120, 25, "first-price")]
    public async Task A_run_with_draws_taken_ahead_has_the_rows_of_one_stepped_cycle_by_cycle(string name, int agents, int cycles, string mechanism)
    {
        var scenario = ScenarioCatalog.Find(name)!;
        foreach (var variant in scenario.Plan(agents))
        {
            var run = await new SimulationRunner().RunAsync(name, variant, mechanism, cycles, seed: 23);

            var stepped = await SimulationRunner.SimulationRun.OpenAsync(variant, cycles, seed: 23, CancellationToken.None);
            stepped.DrawAhead.ShouldBeFalse();
            var clearing = ClearingMechanisms.Create(mechanism);
            var rows = new List<CycleMetrics>();
            for (var cycle = 1; cycle <= cycles; cycle++)
                rows.Add(await stepped.CycleAsync(clearing, cycle, CancellationToken.None));

            JsonSerializer.Serialize(run.Cycles).ShouldBe(JsonSerializer.Serialize(rows), $"{name}/{variant.Name}");
            run.FinalWealth.ShouldBe(stepped.Wealth());
        }
    }
}
