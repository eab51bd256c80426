using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// The findings every market scenario shares (evaluation <c>overview</c>; the <c>market</c> and <c>scale</c>
/// scenario files use it): settled welfare, revenue, Gini, utilization and efficiency per run.
/// </summary>
public static class MarketScenario
{
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
            findings.Add(new(label, "settled cpu utilization", Scenario.Settled(run, c => c.Utilization[(int)ResourceKind.Cpu]), "", null));
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
