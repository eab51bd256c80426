using System.Text.Json.Serialization;
using CyAgents.Economy.Metrics;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Report;

/// <summary>One resource kind over a run.</summary>
public sealed record KindSummary(string Kind, long Supply, double FirstPrice, double LastPrice, double MeanPrice, double? Volatility,
    double MeanUtilization);

/// <summary>One group of agents (strategy, bid class, spawners) over a run.</summary>
public sealed record GroupSummary(string Group, int Agents, long Wins, double WinShare, long Utility, double MeanFinalWealth);

/// <summary>An agent at the end of a run.</summary>
public sealed record AgentStanding(string Id, string Name, string Group, long Wealth, int Wins);

/// <summary>The task board over a run (ADR 0142): what the operator posted, paid and got back, and what agents earned.</summary>
/// <param name="Posted">Tasks posted.</param>
/// <param name="Awarded">Tasks awarded (each exactly once).</param>
/// <param name="Expired">Tasks returned unawarded at their deadline.</param>
/// <param name="OpenAtEnd">Tasks still open (their rewards still escrowed) after the last cycle.</param>
/// <param name="RewardsPaid">Credits paid as task rewards.</param>
/// <param name="Returned">Credits returned to the treasury at deadlines.</param>
/// <param name="Attempts">Submissions judged.</param>
/// <param name="AttentionRefused">Review submissions refused: the won attention did not cover the prompt.</param>
/// <param name="AgentsEarning">Agents paid at least one reward.</param>
/// <param name="AgentsNet">Rewards agents received minus what they paid for compute, over all agents.</param>
public sealed record TaskSummary(long Posted, long Awarded, long Expired, int OpenAtEnd, long RewardsPaid, long Returned, long Attempts,
    long AttentionRefused, int AgentsEarning, long AgentsNet)
{
    /// <summary>Null when the run had no task board.</summary>
    public static TaskSummary? From(RunResult run)
    {
        var cycles = run.Cycles.Where(c => c.Tasks is not null).Select(c => c.Tasks!).ToList();
        if (cycles.Count == 0)
            return null;
        return new TaskSummary(cycles.Sum(c => (long)c.Posted), cycles.Sum(c => (long)c.Awarded), cycles.Sum(c => (long)c.Expired),
            cycles[^1].Open, cycles.Sum(c => c.RewardsPaid), cycles.Sum(c => c.Returned), cycles.Sum(c => (long)c.Attempts),
            cycles.Sum(c => (long)c.AttentionRefused), run.Agents.Count(a => a.TasksAwarded > 0),
            run.Agents.Sum(a => a.TaskEarnings) - run.Agents.Sum(a => a.Paid));
    }
}

/// <summary>The headline numbers of one run, shared by the console table, summary.json and the HTML report.</summary>
public sealed record RunSummary(
    string Label, string Variant, string Mechanism, string CsvFile, int AgentsAtStart, int AgentsAtEnd, int Cycles,
    double MeanWelfare, long TotalWelfare, long TotalRevenue, double? MeanEfficiency, int EfficiencyCycles,
    string? EfficiencyAgainst, double? MeanBoundGap,
    double FinalGini, double MeanJain, int LongestStarvation, int FinalBankrupt, double MeanActiveAgents,
    bool ConservedEveryCycle, IReadOnlyList<KindSummary> Kinds, IReadOnlyList<GroupSummary> Groups,
    IReadOnlyList<AgentStanding> Richest)
{
    /// <summary>Hedge agents' share of value kept over truthful agents' (<see cref="RunResult.AdaptiveGain"/>); only written when the population has both.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AdaptiveGain { get; init; }

    /// <summary>The hedge agents' mean learned shading factor; only written when there are hedge agents.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? LearnedShade { get; init; }

    /// <summary>The task board's totals; only written when the run had tasks.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TaskSummary? Tasks { get; init; }

    /// <summary>Alternative bids placed and won over the run; only written when agents bid alternatives.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? AlternativeBids { get; init; }

    /// <inheritdoc cref="AlternativeBids"/>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? AlternativeWins { get; init; }

    public static RunSummary From(RunResult run, bool withVariant)
    {
        var cycles = run.Cycles;
        var efficient = cycles.Where(c => c.Efficiency is not null).Select(c => c.Efficiency!.Value).ToList();
        var kinds = ResourceKinds.All.Select(kind =>
        {
            var prices = cycles.Select(c => c.Prices[(int)kind]).ToList();
            return new KindSummary(kind.WireName(), run.Supply[kind], prices[0], prices[^1], prices.Average(),
                prices.All(p => p > 0) ? EconomyMetrics.PriceVolatility(prices) : null,
                cycles.Average(c => c.Utilization[(int)kind]));
        }).ToList();
        var totalWins = Math.Max(1, run.Agents.Sum(a => (long)a.Wins));
        var groups = run.Agents
            .Select((agent, i) => (agent, wealth: run.FinalWealth[i]))
            .GroupBy(x => x.agent.Group, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new GroupSummary(g.Key, g.Count(), g.Sum(x => (long)x.agent.Wins), (double)g.Sum(x => (long)x.agent.Wins) / totalWins,
                g.Sum(x => x.agent.Utility), g.Average(x => (double)x.wealth)))
            .ToList();
        var richest = run.Agents
            .Select((agent, i) => new AgentStanding(agent.Id, agent.Name, agent.Group, run.FinalWealth[i], agent.Wins))
            .OrderByDescending(a => a.Wealth).ThenBy(a => a.Id, StringComparer.Ordinal)
            .Take(5).ToList();
        return new RunSummary(
            run.Label(withVariant), run.Variant, run.Mechanism, CycleCsv.FileName(run, withVariant),
            run.Agents.Count(a => !a.IsChild), run.Agents.Count, cycles.Count,
            cycles.Average(c => (double)c.Welfare), cycles.Sum(c => c.Welfare), cycles.Sum(c => c.Revenue),
            efficient.Count > 0 ? efficient.Average() : null, efficient.Count,
            AgainstOf(cycles), BoundGapOf(cycles),
            cycles[^1].WealthGini, cycles.Average(c => c.Jain), run.Agents.Max(a => a.LongestLosingStreak),
            cycles[^1].Bankrupt, cycles.Average(c => (double)c.ActiveAgents),
            cycles.All(c => c.Conserved), kinds, groups, richest)
        {
            AdaptiveGain = run.AdaptiveGain() is { } gain ? Math.Round(gain, 6) : null,
            LearnedShade = run.LearnedShade() is { } shade ? Math.Round(shade, 6) : null,
            Tasks = TaskSummary.From(run),
            AlternativeBids = cycles.Any(c => c.AlternativeBids is not null) ? cycles.Sum(c => (long)(c.AlternativeBids ?? 0)) : null,
            AlternativeWins = cycles.Any(c => c.AlternativeWins is not null) ? cycles.Sum(c => (long)(c.AlternativeWins ?? 0)) : null,
        };
    }

    /// <summary>exact, bound, or exact+bound when some cycles were solved exactly and others only bounded.</summary>
    private static string? AgainstOf(IReadOnlyList<CycleMetrics> cycles)
    {
        var exact = cycles.Any(c => c.EfficiencyBasis == EfficiencyBasis.Exact);
        var bound = cycles.Any(c => c.EfficiencyBasis == EfficiencyBasis.Bound);
        return exact && bound ? "exact+bound" : exact ? "exact" : bound ? "bound" : null;
    }

    /// <summary>Mean of bound / optimum − 1 over the cycles that have both: how loose the bound is where it can be checked.</summary>
    private static double? BoundGapOf(IReadOnlyList<CycleMetrics> cycles)
    {
        var gaps = cycles.Where(c => c is { WelfareBound: not null, OptimalWelfare: > 0 })
            .Select(c => (double)c.WelfareBound!.Value / c.OptimalWelfare!.Value - 1).ToList();
        return gaps.Count > 0 ? Math.Round(gaps.Average(), 6) : null;
    }
}
