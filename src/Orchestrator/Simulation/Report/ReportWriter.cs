using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CyAgents.Orchestrator.Simulation.Report;

/// <summary>
/// Writes an experiment's output folder: one cycles-*.csv per run, summary.json, report.html, and timings.json
/// (the only file that differs between two runs with the same seed: it holds wall-clock figures).
/// </summary>
public static class ReportWriter
{
    public const string SummaryFile = "summary.json";
    public const string ReportFile = "report.html";
    public const string TimingsFile = "timings.json";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes every file and returns their paths, in a stable order.</summary>
    public static IReadOnlyList<string> Write(ExperimentResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var run in result.Runs)
        {
            var path = Path.Combine(directory, CycleCsv.FileName(run, result.ManyVariants));
            using (var writer = new StreamWriter(path, append: false, Utf8))
                CycleCsv.Write(writer, [run]);
            written.Add(path);
        }
        written.Add(WriteText(directory, SummaryFile, SummaryJson.Serialize(result)));
        written.Add(WriteText(directory, ReportFile, HtmlReport.Render(result)));
        written.Add(WriteText(directory, TimingsFile, Timings(result)));
        return written;
    }

    public static string Timings(ExperimentResult result)
    {
        var runs = result.Runs.Select(r => new
        {
            Run = r.Label(result.ManyVariants),
            Agents = r.Agents.Count,
            Cycles = r.Cycles.Count,
            WallSeconds = Math.Round(r.Timing.Elapsed.TotalSeconds, 3),
            r.Timing.AgentCycles,
            AgentCyclesPerSecond = Math.Round(r.Timing.AgentCyclesPerSecond),
        });
        return JsonSerializer.Serialize(new { Runs = runs, PeakWorkingSetMegabytes = Math.Round(PeakWorkingSetMiB(), 1) }, SummaryJson.Options) + "\n";
    }

    public static double PeakWorkingSetMiB()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    private static string WriteText(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text, Utf8);
        return path;
    }

    internal static string Num(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
