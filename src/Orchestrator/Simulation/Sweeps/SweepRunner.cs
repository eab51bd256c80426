using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Report;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Sweeps;

/// <summary>What one run measured, per variant: the run-level numbers the cell statistics are made of.</summary>
public sealed record RunMeasures(string Variant, IReadOnlyDictionary<string, double?> Measures);

/// <summary>How a sweep went: runs made now, runs found finished from before.</summary>
public sealed record SweepOutcome(int Ran, int Skipped, IReadOnlyList<string> Files);

/// <summary>
/// Runs a sweep's runs in parallel and writes its outputs. Each finished run leaves runs/&lt;key&gt;.csv (its rows of
/// the tidy CSV) and runs/&lt;key&gt;.json (its measures), each written to a temporary name and renamed, so a run
/// killed midway leaves nothing that looks finished; a rerun skips every run whose files exist. The combined
/// outputs are rebuilt from the run files in plan order, so they do not depend on which runs ran when.
/// </summary>
public static class SweepRunner
{
    public const string CsvFile = "sweep.csv";
    public const string CellsFile = "cells.csv";
    public const string ReportFile = "report.html";
    public const string RunsFolder = "runs";

    /// <summary>The run-level measures, in report order: name and what it is.</summary>
    public static IReadOnlyList<(string Name, string Meaning)> MeasureNames { get; } =
    [
        ("welfare", "mean welfare per cycle (true values)"),
        ("efficiency", "mean efficiency (exact or against the LP bound)"),
        ("revenue", "mean revenue per cycle"),
        ("gini", "final wealth Gini"),
        ("jain", "mean Jain's index of resources received"),
        ("utilization_cpu", "mean CPU utilization"),
        ("active_agents", "mean bidders per cycle"),
        ("starving", "mean agents starving"),
        ("adaptive_gain", "hedge agents' utility over value bid for, minus truthful agents'"),
        ("learned_shade", "hedge agents' mean learned shading factor"),
    ];

    public static IReadOnlyList<string> Header(SweepConfig config) =>
    [
        "sweep", "cell", .. config.ParameterNames.Select(ParameterColumn), "seed", "variant", "mechanism", "row", "cycle", "agents", "active_agents", "winners",
        "welfare", "efficiency", "efficiency_basis", "revenue", "gini", "jain",
        .. ResourceKinds.All.Select(k => "utilization_" + k.WireName()), .. ResourceKinds.All.Select(k => "price_" + k.WireName()),
        "starving", "bankrupt", "conserved", "adaptive_gain", "learned_shade",
    ];

    /// <summary>A swept parameter's column: "param." and its name, so it never collides with a measured column.</summary>
    public static string ParameterColumn(string name) => "param." + name;

    public static async Task<SweepOutcome> RunAsync(SweepConfig config, string output, int parallel, Action<int, int>? progress = null,
        CancellationToken ct = default)
    {
        var runsFolder = Path.Combine(output, RunsFolder);
        Directory.CreateDirectory(runsFolder);
        var runs = config.Runs;
        var pending = runs.Where(r => !File.Exists(Path.Combine(runsFolder, r.Key + ".csv"))).ToList();
        var done = runs.Count - pending.Count;
        progress?.Invoke(done, runs.Count);
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, async (run, token) =>
        {
            var cell = run.Cell;
            var result = await Experiment.RunAsync(new ExperimentOptions(cell.Scenario, cell.Agents, cell.Cycles, [cell.Mechanism], run.Seed),
                ct: token);
            var measures = result.Runs.Select(r => new RunMeasures(r.Variant, Measure(r))).ToList();
            WriteAtomically(Path.Combine(runsFolder, run.Key + ".json"), JsonSerializer.Serialize(measures, SummaryJson.Options) + "\n");
            WriteAtomically(Path.Combine(runsFolder, run.Key + ".csv"), Rows(config, run, result));
            progress?.Invoke(Interlocked.Increment(ref done), runs.Count);
        });

        var files = new List<string>();
        var csvPath = Path.Combine(output, CsvFile);
        var tidy = new StringBuilder();
        tidy.Append(string.Join(",", Header(config).Select(Quote))).Append('\n');
        var measured = new List<(SweepRun Run, IReadOnlyList<RunMeasures> Measures)>();
        foreach (var run in runs)
        {
            tidy.Append(File.ReadAllText(Path.Combine(runsFolder, run.Key + ".csv")));
            measured.Add((run, JsonSerializer.Deserialize<List<RunMeasures>>(File.ReadAllText(Path.Combine(runsFolder, run.Key + ".json")), SummaryJson.Options)!));
        }
        WriteAtomically(csvPath, tidy.ToString());
        files.Add(csvPath);
        var cells = SweepStatistics.Cells(config, measured);
        var cellsPath = Path.Combine(output, CellsFile);
        WriteAtomically(cellsPath, SweepStatistics.Csv(config, cells));
        files.Add(cellsPath);
        var reportPath = Path.Combine(output, ReportFile);
        WriteAtomically(reportPath, SweepReport.Render(config, cells));
        files.Add(reportPath);
        return new SweepOutcome(pending.Count, runs.Count - pending.Count, files);
    }

    private static IReadOnlyDictionary<string, double?> Measure(RunResult run)
    {
        var c = run.Cycles;
        var efficient = c.Where(x => x.Efficiency is not null).Select(x => x.Efficiency!.Value).ToList();
        return new Dictionary<string, double?>
        {
            ["welfare"] = c.Average(x => (double)x.Welfare),
            ["efficiency"] = efficient.Count > 0 ? efficient.Average() : null,
            ["revenue"] = c.Average(x => (double)x.Revenue),
            ["gini"] = c[^1].WealthGini,
            ["jain"] = c.Average(x => x.Jain),
            ["utilization_cpu"] = c.Average(x => x.Utilization[(int)ResourceKind.Cpu]),
            ["active_agents"] = c.Average(x => (double)x.ActiveAgents),
            ["starving"] = c.Average(x => (double)x.Starving),
            ["adaptive_gain"] = run.AdaptiveGain(),
            ["learned_shade"] = run.LearnedShade(),
        };
    }

    /// <summary>The run's rows of the tidy CSV: one per variant and cycle, then one summary row per variant.</summary>
    private static string Rows(SweepConfig config, SweepRun run, ExperimentResult result)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = CsvWriter.Create(text, new CsvWriterOptions { NewLine = "\n", FormatProvider = CultureInfo.InvariantCulture }, true))
        {
            foreach (var r in result.Runs)
            {
                void Prefix(string row, string cycle)
                {
                    csv.WriteField(config.Name);
                    csv.WriteField(run.Cell.Index.ToString(CultureInfo.InvariantCulture));
                    foreach (var name in config.ParameterNames)
                        csv.WriteField(run.Cell.Parameters.FirstOrDefault(p => p.Name == name)?.Value ?? "");
                    csv.WriteField(run.Seed.ToString(CultureInfo.InvariantCulture));
                    csv.WriteField(r.Variant);
                    csv.WriteField(r.Mechanism);
                    csv.WriteField(row);
                    csv.WriteField(cycle);
                }
                foreach (var c in r.Cycles)
                {
                    Prefix("cycle", CycleCsv.Int(c.Cycle));
                    csv.WriteField(CycleCsv.Int(c.Agents));
                    csv.WriteField(CycleCsv.Int(c.ActiveAgents));
                    csv.WriteField(CycleCsv.Int(c.Winners));
                    csv.WriteField(CycleCsv.Int(c.Welfare));
                    csv.WriteField(c.Efficiency is { } e ? CycleCsv.Ratio(e) : "");
                    csv.WriteField(CycleCsv.BasisName(c.EfficiencyBasis));
                    csv.WriteField(CycleCsv.Int(c.Revenue));
                    csv.WriteField(CycleCsv.Ratio(c.WealthGini));
                    csv.WriteField(CycleCsv.Ratio(c.Jain));
                    foreach (var u in c.Utilization)
                        csv.WriteField(CycleCsv.Ratio(u));
                    foreach (var p in c.Prices)
                        csv.WriteField(CycleCsv.Price(p));
                    csv.WriteField(CycleCsv.Int(c.Starving));
                    csv.WriteField(CycleCsv.Int(c.Bankrupt));
                    csv.WriteField(c.Conserved ? "true" : "false");
                    // Run-level measures: only on the summary row.
                    csv.WriteField("");
                    csv.WriteField("");
                    csv.EndRecord();
                }
                // The summary row: means over the run's cycles (Gini, bankrupt and agents: at the end).
                var cs = r.Cycles;
                var efficient = cs.Where(x => x.Efficiency is not null).ToList();
                Prefix("summary", "");
                csv.WriteField(CycleCsv.Int(cs[^1].Agents));
                csv.WriteField(CycleCsv.Ratio(cs.Average(x => (double)x.ActiveAgents)));
                csv.WriteField(CycleCsv.Ratio(cs.Average(x => (double)x.Winners)));
                csv.WriteField(CycleCsv.Ratio(cs.Average(x => (double)x.Welfare)));
                csv.WriteField(efficient.Count > 0 ? CycleCsv.Ratio(efficient.Average(x => x.Efficiency!.Value)) : "");
                var bases = efficient.Select(x => x.EfficiencyBasis).Distinct().Order().Select(CycleCsv.BasisName).ToList();
                csv.WriteField(string.Join("+", bases));
                csv.WriteField(CycleCsv.Ratio(cs.Average(x => (double)x.Revenue)));
                csv.WriteField(CycleCsv.Ratio(cs[^1].WealthGini));
                csv.WriteField(CycleCsv.Ratio(cs.Average(x => x.Jain)));
                foreach (var kind in ResourceKinds.All)
                    csv.WriteField(CycleCsv.Ratio(cs.Average(x => x.Utilization[(int)kind])));
                foreach (var kind in ResourceKinds.All)
                    csv.WriteField(CycleCsv.Price(cs.Average(x => x.Prices[(int)kind])));
                csv.WriteField(CycleCsv.Ratio(cs.Average(x => (double)x.Starving)));
                csv.WriteField(CycleCsv.Int(cs[^1].Bankrupt));
                csv.WriteField(cs.All(x => x.Conserved) ? "true" : "false");
                csv.WriteField(r.AdaptiveGain() is { } gain ? CycleCsv.Ratio(gain) : "");
                csv.WriteField(r.LearnedShade() is { } shade ? CycleCsv.Ratio(shade) : "");
                csv.EndRecord();
            }
            csv.Flush();
        }
        return text.ToString();
    }

    private static string Quote(string field) => field.Contains(',') || field.Contains('"') ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Environment.CurrentManagedThreadId;
        File.WriteAllText(temporary, text, Utf8);
        File.Move(temporary, path, overwrite: true);
    }
}
