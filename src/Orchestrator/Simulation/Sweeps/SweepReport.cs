using System.Text.Json;
using CyAgents.Orchestrator.Simulation.Report;

namespace CyAgents.Orchestrator.Simulation.Sweeps;

/// <summary>
/// The sweep's report.html: one self-contained page in the simulator report's style (Chart.js inlined, data
/// embedded), a chart per measure with every cell's mean and 95% interval side by side, and the table of cells.
/// A pure function of the sweep's results: the same config gives the same bytes.
/// </summary>
public static class SweepReport
{
    public static string Render(SweepConfig config, IReadOnlyList<CellSummary> cells)
    {
        var data = new
        {
            config.Name,
            Parameters = config.ParameterNames,
            Seeds = config.Seeds,
            Measures = SweepRunner.MeasureNames.Select(m => new { m.Name, m.Meaning }).ToArray(),
            Cells = cells.Select(c => new
            {
                Label = c.Variant == "base" ? c.Cell.Label : $"{c.Cell.Label} [{c.Variant}]",
                c.Cell.Index,
                c.Cell.Mechanism,
                c.Cell.Agents,
                c.Cell.Cycles,
                c.Variant,
                Values = c.Cell.Parameters.Select(p => p.Value).ToArray(),
                Measures = c.Measures.ToDictionary(m => m.Measure, m => new
                {
                    Mean = Math.Round(m.Mean, 6),
                    Low = m.Low is { } l ? Math.Round(l, 6) : (double?)null,
                    High = m.High is { } h ? Math.Round(h, 6) : (double?)null,
                    m.Runs,
                }),
            }).ToArray(),
        };
        var json = JsonSerializer.Serialize(data, new JsonSerializerOptions(SummaryJson.Options) { WriteIndented = false });
        return HtmlReport.Template("sweep-report.html").Replace("__REPORT_DATA__", json).Replace("__CHART_JS__", HtmlReport.Resource("chart.umd.min.js"));
    }
}
