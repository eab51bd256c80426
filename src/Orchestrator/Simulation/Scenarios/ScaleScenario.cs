using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// The baseline market at three sizes (by default 1,000, 10,000 and 100,000 agents) to show how the engine and
/// the outcomes scale. Timing goes to the console and timings.json, not to the deterministic outputs.
/// </summary>
public sealed class ScaleScenario : Scenario
{
    public override string Name => "scale";
    public override string Summary => "the baseline market at N/100, N/10 and N agents (N = 100,000 by default)";
    public override string KnownAnswer => "none; outcomes should be size-independent, cost about linear in agents";
    public override int DefaultAgents => 100_000;
    public override int DefaultCycles => 20;
    public override int MinimumAgents => 100;
    public override IReadOnlyList<string> DefaultMechanisms => ["critical-value"];

    public override IReadOnlyList<SimulationVariant> Plan(int agents) =>
        new[] { agents / 100, agents / 10, agents }
            .Select(n => new SimulationVariant($"n{n}", n, MarketScenario.Settings(new PopulationSpec())))
            .ToList();

    public override IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs) => MarketScenario.Overview(runs);
}
