using CyAgents.Economy.Metrics;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// Task arrivals double for the middle third of the run. Excess demand drives the pricing rule up to a new,
/// higher level where demand meets supply again; when the shock ends prices fall back. Reports the price level
/// before, during and after, price volatility, and how many cycles prices take to recover.
/// </summary>
public sealed class DemandShockScenario : Scenario
{
    /// <summary>Prices have recovered once the price index is back within this fraction of its pre-shock level.</summary>
    public const double RecoveryBand = 0.10;

    public override string Name => "demand-shock";
    public override string Summary => "task arrivals double during the middle third of the run";
    public override string KnownAnswer => "prices rise during the shock (index > 1.1x the level before) and come back after (within 15%)";
    public override int DefaultAgents => 500;
    public override int DefaultCycles => 300;
    public override int MinimumAgents => 20;
    public override IReadOnlyList<string> DefaultMechanisms => ["critical-value", "posted-price"];

    public static (int Start, int End) ShockWindow(int cycles) => (cycles / 3 + 1, 2 * cycles / 3);

    public override IReadOnlyList<SimulationVariant> Plan(int agents) =>
    [
        new("base", agents, MarketScenario.Settings(new PopulationSpec()) with
        {
            DemandMultiplier = static (cycle, cycles) =>
            {
                var (start, end) = ShockWindow(cycles);
                return cycle >= start && cycle <= end ? 2.0 : 1.0;
            },
        }),
    ];

    /// <summary>
    /// The price level of a cycle: the geometric mean over demanded kinds of price relative to the first cycle's,
    /// so kinds with tiny unit prices (tokens) weigh as much as expensive ones (attention).
    /// </summary>
    public static double[] PriceIndex(RunResult run)
    {
        var first = run.Cycles[0].Prices;
        var kinds = ResourceKinds.All.Where(k => first[(int)k] > 0 && run.Supply[k] > 0).ToArray();
        return run.Cycles.Select(c => kinds.Length == 0 ? 1.0
            : Math.Exp(kinds.Average(k => Math.Log(c.Prices[(int)k] / first[(int)k])))).ToArray();
    }

    public override IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
    {
        var findings = new List<Finding>();
        foreach (var run in runs)
        {
            var cycles = run.Cycles.Count;
            var (start, end) = ShockWindow(cycles);
            var index = PriceIndex(run);
            // Windows: the settled half before the shock, the second half of the shock, the last sixth of the run.
            double Mean(int from, int to) => index.Skip(from - 1).Take(Math.Max(1, to - from + 1)).Average();
            var before = Mean(Math.Max(1, start / 2), start - 1);
            var during = Mean((start + end) / 2, end);
            var after = Mean(cycles - cycles / 6 + 1, cycles);
            var recovery = -1;
            for (var c = end + 1; c <= cycles; c++)
            {
                if (Math.Abs(index[c - 1] / before - 1) <= RecoveryBand)
                {
                    recovery = c - end;
                    break;
                }
            }
            var label = run.Mechanism;
            findings.Add(new(label, "price index during shock / before", during / before, "> 1.1", during / before > 1.1));
            findings.Add(new(label, "price index after shock / before", after / before, "0.85-1.15", Math.Abs(after / before - 1) <= 0.15));
            findings.Add(new(label, "recovery time (cycles after the shock to within 10%)", recovery, "", null));
            foreach (var kind in ResourceKinds.All)
            {
                var series = run.Cycles.Select(c => c.Prices[(int)kind]).ToList();
                if (series.All(p => p > 0))
                    findings.Add(new(label, $"{kind.WireName()} price volatility", EconomyMetrics.PriceVolatility(series), "", null));
            }
        }
        return findings;
    }
}
