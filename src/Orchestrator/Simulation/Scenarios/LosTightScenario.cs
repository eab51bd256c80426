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
public sealed class LosTightScenario : Scenario
{
    public const long SmallValue = 100;
    public const long UnitMillicores = 1000;

    public override string Name => "los-tight";
    public override string Summary => "m small single-unit bids against one bid for all m units at just over sqrt(m) of them";
    public override string KnownAnswer => "critical-value's efficiency is about 1/sqrt(m) (m = agents - 1); optimal's is 1";
    public override int DefaultAgents => 17;
    public override int DefaultCycles => 20;
    public override int MinimumAgents => 3;
    public override IReadOnlyList<string> DefaultMechanisms => ["critical-value", "optimal"];

    public static long WhaleValue(int m) => (long)Math.Ceiling(SmallValue * Math.Sqrt(m)) + 1;

    public override IReadOnlyList<SimulationVariant> Plan(int agents)
    {
        var m = agents - 1;
        return
        [
            new($"m{m}", agents, new ScenarioSettings
            {
                Populate = (count, seed) => HandBuilt(count, seed, i => i == 0
                    ? ("whale", WhaleValue(m), ResourceBundle.Create(cpuMillicores: m * UnitMillicores))
                    : ("small", SmallValue, ResourceBundle.Create(cpuMillicores: UnitMillicores))),
                FixedSupply = ResourceBundle.Create(m * UnitMillicores, 1000, 1000, 1000),
                InitialPrices = MarketPrices.Zero,
                PricingEnabled = false,
                OptimalBidLimit = OptimalMechanism.MaxBids,
            }),
        ];
    }

    public override IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
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
                CriticalValueMechanism.MechanismName => ($"1/sqrt({m}) = {F(1 / Math.Sqrt(m))} (within 0.02)",
                    (bool?)(Math.Abs(efficiency - 1 / Math.Sqrt(m)) <= 0.02)),
                OptimalMechanism.MechanismName => ("1", (bool?)(Math.Abs(efficiency - 1) < 1e-9)),
                _ => ("", null),
            };
            findings.Add(new(run.Mechanism, "mean efficiency", efficiency, expected, holds));
        }
        return findings;
    }
}
