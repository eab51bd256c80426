using System.Globalization;
using System.Text;
using MathNet.Numerics.Distributions;

namespace CyAgents.Orchestrator.Simulation.Sweeps;

/// <summary>A measure over a cell's replications: mean and a 95% confidence interval (Student t; none with one seed).</summary>
public sealed record CellMeasure(string Measure, int Runs, double Mean, double? Low, double? High);

/// <summary>One cell (and variant) of a sweep with its measures.</summary>
public sealed record CellSummary(SweepCell Cell, string Variant, IReadOnlyList<CellMeasure> Measures);

/// <summary>Means with 95% confidence intervals per cell: mean ± t(0.975, n−1)·s/√n over the cell's seeds.</summary>
public static class SweepStatistics
{
    public static IReadOnlyList<CellSummary> Cells(SweepConfig config, IReadOnlyList<(SweepRun Run, IReadOnlyList<RunMeasures> Measures)> runs)
    {
        var result = new List<CellSummary>();
        foreach (var cell in config.Cells)
        {
            var ofCell = runs.Where(r => r.Run.Cell.Index == cell.Index).ToList();
            var variants = ofCell.SelectMany(r => r.Measures.Select(m => m.Variant)).Distinct().ToList();
            foreach (var variant in variants)
            {
                var measures = new List<CellMeasure>();
                foreach (var (name, _) in SweepRunner.MeasureNames)
                {
                    var values = ofCell.SelectMany(r => r.Measures.Where(m => m.Variant == variant))
                        .Select(m => m.Measures.TryGetValue(name, out var v) ? v : null)
                        .Where(v => v is not null).Select(v => v!.Value).ToList();
                    if (values.Count == 0)
                        continue;
                    measures.Add(Interval(name, values));
                }
                result.Add(new CellSummary(cell, variant, measures));
            }
        }
        return result;
    }

    public static CellMeasure Interval(string name, IReadOnlyList<double> values)
    {
        var n = values.Count;
        var mean = values.Average();
        if (n < 2)
            return new CellMeasure(name, n, mean, null, null);
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        var half = StudentT.InvCDF(0, 1, n - 1, 0.975) * Math.Sqrt(variance / n);
        return new CellMeasure(name, n, mean, mean - half, mean + half);
    }

    /// <summary>cells.csv: one row per cell, variant and measure.</summary>
    public static string Csv(SweepConfig config, IReadOnlyList<CellSummary> cells)
    {
        var text = new StringBuilder();
        text.Append(string.Join(",", new[] { "sweep", "cell" }.Concat(config.ParameterNames.Select(SweepRunner.ParameterColumn)).Concat(["variant", "mechanism", "measure", "runs", "mean", "ci95_low", "ci95_high"]).Select(Quote))).Append('\n');
        foreach (var cell in cells)
        {
            foreach (var m in cell.Measures)
            {
                var fields = new List<string> { config.Name, Int(cell.Cell.Index) };
                fields.AddRange(config.ParameterNames.Select(p => cell.Cell.Parameters.FirstOrDefault(x => x.Name == p)?.Value ?? ""));
                fields.AddRange([cell.Variant, cell.Cell.Mechanism, m.Measure, Int(m.Runs), Num(m.Mean), m.Low is { } l ? Num(l) : "", m.High is { } h ? Num(h) : ""]);
                text.Append(string.Join(",", fields.Select(Quote))).Append('\n');
            }
        }
        return text.ToString();
    }

    internal static string Num(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string field) => field.Contains(',') || field.Contains('"') ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
