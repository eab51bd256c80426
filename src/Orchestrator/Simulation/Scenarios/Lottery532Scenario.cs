using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// Three classes of agents bid 50, 30 and 20 credits for the one unit on offer each cycle. A lottery draws the
/// winner with probability proportional to the bid, so the classes win 50%, 30% and 20% of the cycles.
/// </summary>
public static class Lottery532Scenario
{
    private static readonly (string Group, long Value, double Share)[] Classes = [("bid-50", 50, 0.5), ("bid-30", 30, 0.3), ("bid-20", 20, 0.2)];



    public static IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
    {
        var findings = new List<Finding>();
        foreach (var run in runs)
        {
            var totalWins = Math.Max(1, run.Agents.Sum(a => a.Wins));
            var known = run.Mechanism == LotteryMechanism.MechanismName;
            foreach (var (group, _, share) in Classes)
            {
                var observed = (double)run.Agents.Where(a => a.Group == group).Sum(a => a.Wins) / totalWins;
                findings.Add(new(run.Mechanism, $"share of units won by {group}", observed, $"{Scenario.F(share - 0.02)}-{Scenario.F(share + 0.02)}",
                    known ? Math.Abs(observed - share) <= 0.02 : null));
            }
        }
        return findings;
    }
}
