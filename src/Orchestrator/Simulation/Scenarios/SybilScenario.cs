using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// A quarter of the agents are spawners. The same population runs twice per mechanism: once where spawners stay
/// single (honest) and once where each splits into a family of four identities at cycle 1 (sybil), paying a spawn
/// fee per child. Arrivals and values are common to both runs, so the difference in the spawners' utility is what
/// splitting gains (or loses) under that mechanism.
/// </summary>
public static class SybilScenario
{
    public const int Children = 3;
    public const long SpawnFee = 5;
    public const string SpawnerGroup = "spawner";



    /// <summary>Total realized utility (value won minus payments) of the spawner families.</summary>
    public static long SpawnerUtility(RunResult run) => run.Agents.Where(a => a.Group == SpawnerGroup).Sum(a => a.Utility);

    /// <summary>Total realized utility of everyone else.</summary>
    public static long OthersUtility(RunResult run) => run.Agents.Where(a => a.Group != SpawnerGroup).Sum(a => a.Utility);

    public static IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
    {
        var findings = new List<Finding>();
        foreach (var sybil in runs.Where(r => r.Variant == "sybil"))
        {
            var honest = runs.FirstOrDefault(r => r.Variant == "honest" && r.Mechanism == sybil.Mechanism);
            if (honest is null)
                continue;
            var gain = Relative(SpawnerUtility(sybil), SpawnerUtility(honest));
            var othersGain = Relative(OthersUtility(sybil), OthersUtility(honest));
            findings.Add(new(sybil.Mechanism, "spawners' utility gain from splitting", gain, "", null));
            findings.Add(new(sybil.Mechanism, "everyone else's utility change", othersGain, "", null));
            findings.Add(new(sybil.Mechanism, "spawners' share of wins (sybil)", WinShare(sybil), "", null));
            findings.Add(new(sybil.Mechanism, "spawners' share of wins (honest)", WinShare(honest), "", null));
        }
        return findings;
    }

    private static double Relative(long now, long before) => before == 0 ? 0 : (double)(now - before) / Math.Abs(before);

    private static double WinShare(RunResult run)
    {
        var total = run.Agents.Sum(a => (long)a.Wins);
        return total == 0 ? 0 : (double)run.Agents.Where(a => a.Group == SpawnerGroup).Sum(a => (long)a.Wins) / total;
    }
}
