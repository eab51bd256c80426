using System.Globalization;
using System.Reflection;
using System.Text.Json;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Report;

/// <summary>
/// report.html: one self-contained page (Chart.js inlined from the npm package, data embedded as JSON) with
/// prices, utilization, wealth and outcomes over time, every mechanism side by side. Nothing is fetched at view
/// time, and the page is a pure function of the experiment (no timestamps), so the same seed gives the same bytes.
/// </summary>
public static class HtmlReport
{
    /// <summary>Series longer than this are thinned to every k-th cycle (the last one always kept).</summary>
    public const int MaxPoints = 600;

    private const int WealthBins = 20;

    public static string Render(ExperimentResult result)
    {
        var template = Template("report.html");
        var chartJs = Resource("chart.umd.min.js");
        var json = JsonSerializer.Serialize(Data(result), new JsonSerializerOptions(SummaryJson.Options) { WriteIndented = false });
        // Replace the data first: the library text must not be searched for the data placeholder.
        return template.Replace("__REPORT_DATA__", json).Replace("__CHART_JS__", chartJs);
    }

    private static object Data(ExperimentResult result)
    {
        var o = result.Options;
        var many = result.ManyVariants;
        return new
        {
            Scenario = o.Scenario.Name,
            o.Scenario.Summary,
            o.Scenario.KnownAnswer,
            o.Seed,
            o.Agents,
            o.Cycles,
            o.Mechanisms,
            Kinds = ResourceKinds.All.Select(k => k.WireName()).ToArray(),
            Units = ResourceKinds.All.Select(k => k.Unit()).ToArray(),
            Runs = result.Runs.Select(r => Series(r, many)).ToArray(),
            Wealth = Wealth(result.Runs, many),
            Findings = result.Findings.Select(f => new
            {
                f.Run, f.Measure, Observed = double.IsFinite(f.Observed) ? Math.Round(f.Observed, 6) : (double?)null, f.Expected, f.Holds,
            }).ToArray(),
            Summaries = result.Runs.Select(r => RunSummary.From(r, many)).ToArray(),
        };
    }

    private static object Series(RunResult run, bool many)
    {
        var stride = Math.Max(1, (run.Cycles.Count + MaxPoints - 1) / MaxPoints);
        var rows = run.Cycles.Where((_, i) => i % stride == 0 || i == run.Cycles.Count - 1).ToArray();
        return new
        {
            Label = run.Label(many),
            Cycle = rows.Select(c => c.Cycle).ToArray(),
            Price = ResourceKinds.All.Select(k => rows.Select(c => Round(c.Prices[(int)k], 10)).ToArray()).ToArray(),
            Utilization = ResourceKinds.All.Select(k => rows.Select(c => Round(c.Utilization[(int)k], 6)).ToArray()).ToArray(),
            Gini = rows.Select(c => Round(c.WealthGini, 6)).ToArray(),
            Jain = rows.Select(c => Round(c.Jain, 6)).ToArray(),
            Welfare = rows.Select(c => c.Welfare).ToArray(),
            Revenue = rows.Select(c => c.Revenue).ToArray(),
            Efficiency = rows.Select(c => c.Efficiency is { } e ? Round(e, 6) : (double?)null).ToArray(),
            Active = rows.Select(c => c.ActiveAgents).ToArray(),
        };
    }

    /// <summary>Final wealth in equal-width bins up to the 99th percentile over all runs; the last bin is open-ended.</summary>
    private static object Wealth(IReadOnlyList<RunResult> runs, bool many)
    {
        var all = runs.SelectMany(r => r.FinalWealth).Order().ToArray();
        var top = all.Length == 0 ? 1 : Math.Max(1, all[(int)Math.Min(all.Length - 1, Math.Floor(0.99 * (all.Length - 1)))]);
        var width = Math.Max(1, (long)Math.Ceiling((double)top / (WealthBins - 1)));
        var labels = Enumerable.Range(0, WealthBins)
            .Select(b => b == WealthBins - 1
                ? "\u2265" + (b * width).ToString(CultureInfo.InvariantCulture)
                : (b * width).ToString(CultureInfo.InvariantCulture) + "\u2013" + ((b + 1) * width - 1).ToString(CultureInfo.InvariantCulture))
            .ToArray();
        return new
        {
            Bins = labels,
            Runs = runs.Select(r =>
            {
                var counts = new int[WealthBins];
                foreach (var w in r.FinalWealth)
                    counts[(int)Math.Min(WealthBins - 1, Math.Max(0, w) / width)]++;
                var n = Math.Max(1, r.FinalWealth.Count);
                return new { Label = r.Label(many), Shares = counts.Select(c => Round((double)c / n, 6)).ToArray() };
            }).ToArray(),
        };
    }

    private static double Round(double value, int digits) => Math.Round(value, digits);

    /// <summary>
    /// A report page's template with what both pages share spliced in: the style sheet (report.css at <c>__REPORT_STYLE__</c>) and
    /// the script helpers (report-kit.js at <c>__REPORT_KIT__</c>: palette, Chart.js defaults, el, fmt, table, card; inside the
    /// page's function, after <c>data</c> is read). Spliced before any data, so only our own text is searched. The two files carry
    /// no header of their own, so a page is byte for byte what it was before they were shared (BuiltInScenarioOutputTests).
    /// </summary>
    internal static string Template(string page) =>
        Resource(page).Replace("__REPORT_STYLE__", Resource("report.css").TrimEnd('\n')).Replace("__REPORT_KIT__", Resource("report-kit.js").TrimEnd('\n'));

    internal static string Resource(string name)
    {
        var assembly = typeof(HtmlReport).Assembly;
        using var stream = assembly.GetManifestResourceStream("CyAgents.Simulation.Report." + name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
