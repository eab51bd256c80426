using System.Globalization;
using CsvHelper;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Report;

/// <summary>
/// The per-cycle metrics as CSV, one row per cycle. Numbers are formatted with the invariant culture and fixed
/// patterns (never the machine's locale or shortest-round-trip), so the same run always gives the same bytes.
/// </summary>
public static class CycleCsv
{
    public static IReadOnlyList<string> Header { get; } =
    [
        "scenario", "variant", "mechanism", "cycle", "agents", "active_agents", "winners",
        .. ResourceKinds.All.Select(k => "price_" + k.WireName()),
        .. ResourceKinds.All.Select(k => "utilization_" + k.WireName()),
        .. ResourceKinds.All.Select(k => "demand_ratio_" + k.WireName()),
        "welfare", "efficiency", "revenue", "gini", "jain", "starving", "bankrupt", "gifts", "treasury_issued", "conserved",
        "efficiency_basis", "welfare_bound", "optimal_welfare",
    ];

    /// <summary>Columns of the task board (ADR 0142), written after the others only when a run has tasks.</summary>
    public static IReadOnlyList<string> TaskHeader { get; } =
    [
        "tasks_posted", "tasks_open", "task_attempts", "tasks_passed", "tasks_awarded", "task_rewards", "tasks_expired", "task_returns",
        "attention_refused", "attention_spent", "passes_unpaid",
    ];

    /// <summary>Columns of alternative bids (ADR 0143), written last only when a run has agents that bid alternatives.</summary>
    public static IReadOnlyList<string> AlternativeHeader { get; } = ["alternative_bids", "alternative_wins"];

    /// <summary>The header of these runs: <see cref="Header"/>, then the task and alternative columns when they apply.</summary>
    public static IReadOnlyList<string> HeaderOf(IReadOnlyList<RunResult> runs)
    {
        var (tasks, alternatives) = Extras(runs);
        return [.. Header, .. tasks ? TaskHeader : [], .. alternatives ? AlternativeHeader : []];
    }

    private static (bool Tasks, bool Alternatives) Extras(IReadOnlyList<RunResult> runs) =>
        (runs.Any(r => r.Cycles.Any(c => c.Tasks is not null)), runs.Any(r => r.Cycles.Any(c => c.AlternativeBids is not null)));

    public static string FileName(RunResult run, bool withVariant) =>
        withVariant ? $"cycles-{run.Variant}-{run.Mechanism}.csv" : $"cycles-{run.Mechanism}.csv";

    /// <summary>Writes the rows of <paramref name="runs"/> under one header (several runs concatenate cleanly).</summary>
    public static void Write(TextWriter writer, IEnumerable<RunResult> runs)
    {
        var list = runs.ToList();
        var (tasks, alternatives) = Extras(list);
        var options = new CsvWriterOptions { NewLine = "\n", FormatProvider = CultureInfo.InvariantCulture };
        using var csv = CsvWriter.Create(writer, options, true);
        csv.WriteHeader(HeaderOf(list).ToArray());
        foreach (var run in list)
        {
            foreach (var row in run.Cycles)
            {
                csv.WriteField(run.Scenario);
                csv.WriteField(run.Variant);
                csv.WriteField(run.Mechanism);
                csv.WriteField(Int(row.Cycle));
                csv.WriteField(Int(row.Agents));
                csv.WriteField(Int(row.ActiveAgents));
                csv.WriteField(Int(row.Winners));
                foreach (var price in row.Prices)
                    csv.WriteField(Price(price));
                foreach (var utilization in row.Utilization)
                    csv.WriteField(Ratio(utilization));
                foreach (var ratio in row.DemandRatio)
                    csv.WriteField(Ratio(ratio));
                csv.WriteField(Int(row.Welfare));
                csv.WriteField(row.Efficiency is { } e ? Ratio(e) : "");
                csv.WriteField(Int(row.Revenue));
                csv.WriteField(Ratio(row.WealthGini));
                csv.WriteField(Ratio(row.Jain));
                csv.WriteField(Int(row.Starving));
                csv.WriteField(Int(row.Bankrupt));
                csv.WriteField(Int(row.Gifts));
                csv.WriteField(Int(row.TreasuryIssued));
                csv.WriteField(row.Conserved ? "true" : "false");
                csv.WriteField(BasisName(row.EfficiencyBasis));
                csv.WriteField(row.WelfareBound is { } bound ? Int(bound) : "");
                csv.WriteField(row.OptimalWelfare is { } optimum ? Int(optimum) : "");
                if (tasks)
                {
                    var t = row.Tasks;
                    foreach (var value in t is null ? new long?[TaskHeader.Count]
                        : [t.Posted, t.Open, t.Attempts, t.Passed, t.Awarded, t.RewardsPaid, t.Expired, t.Returned, t.AttentionRefused, t.AttentionSpent, t.PassedUnpaid])
                        csv.WriteField(value is { } v ? Int(v) : "");
                }
                if (alternatives)
                {
                    csv.WriteField(row.AlternativeBids is { } bids ? Int(bids) : "");
                    csv.WriteField(row.AlternativeWins is { } wins ? Int(wins) : "");
                }
                csv.EndRecord();
            }
        }
        csv.Flush();
    }

    /// <summary>exact (against the optimum), bound (against the LP upper bound on it), or empty (no bids).</summary>
    internal static string BasisName(EfficiencyBasis? basis) => basis switch
    {
        EfficiencyBasis.Exact => "exact",
        EfficiencyBasis.Bound => "bound",
        _ => "",
    };

    internal static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);
    internal static string Ratio(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
    internal static string Price(double value) => value.ToString("0.##########", CultureInfo.InvariantCulture);
}
