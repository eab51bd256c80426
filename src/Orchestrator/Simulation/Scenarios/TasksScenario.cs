using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// The findings of an economy that earns (evaluation <c>tasks</c>, ADR 0144): besides the overview, per run the task
/// rewards paid, the share of posted tasks awarded, what agents earned net of what compute cost them, the market's
/// revenue, and how often the human's attention refused a review.
/// </summary>
public static class TasksScenario
{
    internal static IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs)
    {
        var findings = new List<Finding>(MarketScenario.Overview(runs));
        var many = runs.Select(r => r.Variant).Distinct().Count() > 1;
        foreach (var run in runs)
        {
            var label = run.Label(many);
            if (TaskSummary.From(run) is not { } tasks)
                continue;
            var cycles = run.Cycles.Count;
            findings.Add(new(label, "task rewards paid per cycle", (double)tasks.RewardsPaid / cycles, "", null));
            findings.Add(new(label, "share of posted tasks awarded", tasks.Posted == 0 ? 0 : (double)tasks.Awarded / tasks.Posted, "", null));
            findings.Add(new(label, "agents' net earnings per cycle (rewards - payments)", (double)tasks.AgentsNet / cycles, "", null));
            findings.Add(new(label, "agents paid a reward", tasks.AgentsEarning, "", null));
            findings.Add(new(label, "review submissions refused for attention", tasks.AttentionRefused, "", null));
            findings.Add(new(label, "task rewards paid", tasks.RewardsPaid, "> 0: the economy earns", tasks.RewardsPaid > 0));
        }
        // The comparison: per variant, agents' net earnings under critical-value against first-price.
        foreach (var variant in runs.GroupBy(r => r.Variant, StringComparer.Ordinal))
        {
            var criticalValue = variant.FirstOrDefault(r => r.Mechanism == "critical-value");
            var firstPrice = variant.FirstOrDefault(r => r.Mechanism == "first-price");
            if (criticalValue is null || firstPrice is null || TaskSummary.From(criticalValue) is not { } cv || TaskSummary.From(firstPrice) is not { } fp)
                continue;
            var gain = (double)(cv.AgentsNet - fp.AgentsNet) / criticalValue.Cycles.Count;
            findings.Add(new(many ? variant.Key : "critical-value vs first-price", "agents' net earnings per cycle, critical-value minus first-price",
                gain, "> 0: a winner pays at most its bid", gain > 0));
        }
        return findings;
    }
}
