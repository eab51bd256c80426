using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>The baseline: a mixed population in a contested market (supply 60% of demand at zero prices).</summary>
public sealed class MarketScenario : Scenario
{
    public override string Name => "market";
    public override string Summary => "mixed strategies (truthful, shading, random, budget pacing, zero-intelligence) in a contested market";
    public override string KnownAnswer => "none; compares welfare, revenue, prices and fairness across mechanisms";
    public override int DefaultAgents => 1000;
    public override int DefaultCycles => 200;
    public override IReadOnlyList<string> DefaultMechanisms => ["first-price", "critical-value", "posted-price", "lottery"];

    public override IReadOnlyList<SimulationVariant> Plan(int agents) =>
        [new("base", agents, Settings(new PopulationSpec()))];

    internal static ScenarioSettings Settings(PopulationSpec spec) => new()
    {
        Populate = (count, seed) => PopulationGenerator.Generate(spec, count, seed),
    };

    public override IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs) => Overview(runs);

    /// <summary>Settled welfare, revenue, Gini and utilization per run: the side-by-side table of every scenario.</summary>
    internal static IReadOnlyList<Finding> Overview(IReadOnlyList<RunResult> runs)
    {
        var many = runs.Select(r => r.Variant).Distinct().Count() > 1;
        var findings = new List<Finding>();
        foreach (var run in runs)
        {
            var label = run.Label(many);
            findings.Add(new(label, "mean welfare per cycle", run.Cycles.Average(c => c.Welfare), "", null));
            findings.Add(new(label, "mean revenue per cycle", run.Cycles.Average(c => c.Revenue), "", null));
            findings.Add(new(label, "final wealth Gini", run.Cycles[^1].WealthGini, "", null));
            findings.Add(new(label, "settled cpu utilization", Settled(run, c => c.Utilization[(int)ResourceKind.Cpu]), "", null));
            var efficient = run.Cycles.Where(c => c.Efficiency is not null).ToList();
            if (efficient.Count > 0)
            {
                var exact = efficient.Count(c => c.EfficiencyBasis == EfficiencyBasis.Exact);
                findings.Add(new(label, "mean efficiency", efficient.Average(c => c.Efficiency!.Value),
                    $"against the optimum on {exact} cycles, the LP bound on {efficient.Count - exact}", null));
            }
        }
        return findings;
    }
}
