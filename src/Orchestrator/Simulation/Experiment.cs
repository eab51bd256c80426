using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Simulation;

/// <summary>What to simulate: a scenario's variants under several mechanisms, all from one seed.</summary>
public sealed record ExperimentOptions(Scenario Scenario, int Agents, int Cycles, IReadOnlyList<string> Mechanisms, int Seed)
{
    /// <summary>When set, every run also writes agents-&lt;label&gt;.csv.gz (agent x cycle) into this folder.</summary>
    public string? AgentOutputFolder { get; init; }
}

/// <summary>Every run of an experiment, in plan order (variant, then mechanism), and what the scenario reads from them.</summary>
public sealed record ExperimentResult(ExperimentOptions Options, IReadOnlyList<RunResult> Runs, IReadOnlyList<Finding> Findings)
{
    /// <summary>True when several variants ran, so labels and file names must carry the variant.</summary>
    public bool ManyVariants => Runs.Select(r => r.Variant).Distinct().Count() > 1;

    /// <summary>True when every known answer checked holds; null when the scenario has none.</summary>
    public bool? KnownAnswersHold => Findings.Any(f => f.Holds is not null) ? Findings.All(f => f.Holds != false) : null;
}

/// <summary>Progress of an experiment: which run (of how many) is at which cycle.</summary>
public readonly record struct ExperimentProgress(int Run, int Runs, string Label, int Cycle, int Cycles);

/// <summary>
/// Runs an experiment. Each mechanism gets a fresh ledger and a fresh population drawn from the same seed, so
/// runs are side by side: same agents, same arrivals, same values; only the mechanism differs.
/// </summary>
public static class Experiment
{
    public static async Task<ExperimentResult> RunAsync(ExperimentOptions options, Action<ExperimentProgress>? progress = null,
        CancellationToken ct = default)
    {
        var variants = options.Scenario.Plan(options.Agents);
        var runner = new SimulationRunner();
        var runs = new List<RunResult>();
        var total = variants.Count * options.Mechanisms.Count;
        var many = variants.Count > 1;
        foreach (var variant in variants)
        {
            foreach (var mechanism in options.Mechanisms)
            {
                var number = runs.Count + 1;
                var label = many ? $"{variant.Name}/{mechanism}" : mechanism;
                progress?.Invoke(new ExperimentProgress(number, total, label, 0, options.Cycles));
                using var agentOutput = options.AgentOutputFolder is { } folder
                    ? new AgentCycleCsv(Path.Combine(folder, AgentCycleCsv.FileName(label)))
                    : null;
                runs.Add(await runner.RunAsync(options.Scenario.Name, variant, mechanism, options.Cycles, options.Seed,
                    cycle => progress?.Invoke(new ExperimentProgress(number, total, label, cycle, options.Cycles)), ct, agentOutput));
            }
        }
        return new ExperimentResult(options, runs, options.Scenario.Evaluate(runs));
    }
}
