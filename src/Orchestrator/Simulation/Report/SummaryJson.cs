using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Simulation.Report;

/// <summary>summary.json: the experiment's settings, each run's headline numbers and the scenario's findings.</summary>
public static class SummaryJson
{
    internal static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Numbers print in the shortest round-trip form, which is the same for the same double on every run.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = JavaScriptEncoder.Default,
    };

    public sealed record Document(
        string Scenario, string Summary, string KnownAnswer, int Seed, int Agents, int Cycles, IReadOnlyList<string> Mechanisms,
        bool? KnownAnswersHold, IReadOnlyList<Finding> Findings, IReadOnlyList<RunSummary> Runs);

    public static Document Build(ExperimentResult result)
    {
        var o = result.Options;
        return new Document(o.Scenario.Name, o.Scenario.Summary, o.Scenario.KnownAnswer, o.Seed, o.Agents, o.Cycles, o.Mechanisms,
            result.KnownAnswersHold, result.Findings.Select(Rounded).ToList(),
            result.Runs.Select(r => RunSummary.From(r, result.ManyVariants)).ToList());
    }

    public static string Serialize(ExperimentResult result) => JsonSerializer.Serialize(Build(result), Options) + "\n";

    private static Finding Rounded(Finding f) => f with { Observed = double.IsFinite(f.Observed) ? Math.Round(f.Observed, 6) : f.Observed };
}
