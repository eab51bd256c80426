using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// The tight instance of Lehmann, O'Callaghan and Shoham: m small bidders each want 1/m of the CPU for 100
/// credits, one bidder wants all of it for just over 100·sqrt(m). The greedy ranks by amount/sqrt(size) and takes
/// the big bid first, so it earns sqrt(m)+epsilon where the optimum earns m: efficiency about 1/sqrt(m), the
/// greedy's worst case.
/// </summary>
public static class LosTightScenario
{
    public const long SmallValue = 100;
    public const long UnitMillicores = 1000;


    public static long WhaleValue(int m) => (long)Math.Ceiling(SmallValue * Math.Sqrt(m)) + 1;


    public static IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
    {
        var findings = new List<Finding>();
        foreach (var run in runs)
        {
            var m = run.Agents.Count - 1;
            var measured = run.Cycles.Where(c => c.Efficiency is not null).Select(c => c.Efficiency!.Value).ToList();
            if (measured.Count == 0)
            {
                findings.Add(new(run.Mechanism, "mean efficiency", double.NaN, $"not computable above {OptimalMechanism.MaxBids} bids", null));
                continue;
            }
            var efficiency = measured.Average();
            var (expected, holds) = run.Mechanism switch
            {
                CriticalValueMechanism.MechanismName => ($"1/sqrt({m}) = {Scenario.F(1 / Math.Sqrt(m))} (within 0.02)",
                    (bool?)(Math.Abs(efficiency - 1 / Math.Sqrt(m)) <= 0.02)),
                OptimalMechanism.MechanismName => ("1", (bool?)(Math.Abs(efficiency - 1) < 1e-9)),
                _ => ("", null),
            };
            findings.Add(new(run.Mechanism, "mean efficiency", efficiency, expected, holds));
        }
        return findings;
    }
}
