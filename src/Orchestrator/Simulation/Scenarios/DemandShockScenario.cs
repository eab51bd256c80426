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
public static class DemandShockScenario
{
    /// <summary>Prices have recovered once the price index is back within this fraction of its pre-shock level.</summary>
    public const double RecoveryBand = 0.10;


    public static (int Start, int End) ShockWindow(int cycles) => (cycles / 3 + 1, 2 * cycles / 3);


    /// <summary>
    /// The price level of a cycle: the geometric mean of price relative to the first cycle's, over the kinds with
    /// a thick market (asked for by at least a fifth of the agents) that are scarce before the shock (mean demand
    /// at least 98% of supply). Kinds in excess supply slide toward the price floor whatever happens, as a free
    /// good's price should; thin markets (human attention, sought by a few dozen agents) jump with every lumpy
    /// request. Both are still reported per kind.
    /// </summary>
    public static double[] PriceIndex(RunResult run)
    {
        var kinds = IndexKinds(run);
        var first = run.Cycles[0].Prices;
        return run.Cycles.Select(c => kinds.Count == 0 ? 1.0
            : Math.Exp(kinds.Average(k => Math.Log(c.Prices[(int)k] / first[(int)k])))).ToArray();
    }

    /// <summary>The kinds <see cref="PriceIndex"/> is made of.</summary>
    public static IReadOnlyList<ResourceKind> IndexKinds(RunResult run)
    {
        var (start, _) = ShockWindow(run.Cycles.Count);
        var before = run.Cycles.Skip(Math.Max(0, start / 2 - 1)).Take(Math.Max(1, start - start / 2)).ToList();
        var first = run.Cycles[0].Prices;
        var priced = ResourceKinds.All.Where(k => first[(int)k] > 0 && run.Supply[k] > 0).ToArray();
        var thick = priced.Where(k => run.Agents.Count(a => !a.IsChild && a.Demand[k] > 0) >= run.Agents.Count / 5).ToArray();
        var scarce = thick.Where(k => before.Average(c => c.DemandRatio[(int)k]) >= 0.98).ToArray();
        return scarce.Length > 0 ? scarce : thick.Length > 0 ? thick : priced;
    }

    /// <summary>First cycle, counted from <paramref name="from"/>, at which the index is within the band of <paramref name="level"/>; -1 if never.</summary>
    private static int CyclesUntilWithin(double[] index, int from, int to, double level)
    {
        for (var c = from; c <= to; c++)
        {
            if (Math.Abs(index[c - 1] / level - 1) <= RecoveryBand)
                return c - from + 1;
        }
        return -1;
    }

    public static IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
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
            var settling = CyclesUntilWithin(index, start, end, during);
            var recovery = CyclesUntilWithin(index, end + 1, cycles, before);
            var label = run.Mechanism;
            findings.Add(new(label, "price index during shock / before", during / before, "> 1.1", during / before > 1.1));
            findings.Add(new(label, "price index after shock / before", after / before, "0.85-1.15", Math.Abs(after / before - 1) <= 0.15));
            findings.Add(new(label, "settling time (cycles into the shock to within 10% of its level)", settling, "", null));
            findings.Add(new(label, "recovery time (cycles after the shock to within 10% of the level before)", recovery, "", null));
            var kinds = IndexKinds(run);
            findings.Add(new(label, "price index made of", kinds.Count, string.Join("+", kinds.Select(k => k.WireName())), null));
            foreach (var kind in ResourceKinds.All)
            {
                var series = run.Cycles.Select(c => c.Prices[(int)kind]).ToList();
                if (!series.All(p => p > 0))
                    continue;
                double KindMean(int from, int to) => series.Skip(from - 1).Take(Math.Max(1, to - from + 1)).Average();
                var kindBefore = KindMean(Math.Max(1, start / 2), start - 1);
                var name = kind.WireName();
                findings.Add(new(label, $"{name} price during shock / before", KindMean((start + end) / 2, end) / kindBefore, "", null));
                findings.Add(new(label, $"{name} price after shock / before", KindMean(cycles - cycles / 6 + 1, cycles) / kindBefore, "", null));
                findings.Add(new(label, $"{name} price volatility", EconomyMetrics.PriceVolatility(series), "", null));
            }
        }
        return findings;
    }
}
