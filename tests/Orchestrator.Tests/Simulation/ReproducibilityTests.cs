using CyAgents.Orchestrator.Simulation.Report;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>Same seed, same bytes; another seed, another economy.</summary>
public class ReproducibilityTests
{
    private static async Task<string> WriteAsync(int seed, string name)
    {
        var folder = Simulate.TempFolder(name);
        ReportWriter.Write(await Simulate.RunAsync("market", agents: 200, cycles: 40, seed, "critical-value", "first-price"), folder);
        return folder;
    }

    [Fact]
    public async Task Two_runs_with_the_same_seed_write_identical_csv_json_and_html()
    {
        var first = await WriteAsync(123, "same-a");
        var second = await WriteAsync(123, "same-b");

        var files = Directory.GetFiles(first).Select(Path.GetFileName).Order().ToList();
        files.ShouldBe(["cycles-critical-value.csv", "cycles-first-price.csv", "report.html", "summary.json", "timings.json"]);
        foreach (var file in files.Where(f => f != ReportWriter.TimingsFile))
            File.ReadAllBytes(Path.Combine(second, file!)).ShouldBe(File.ReadAllBytes(Path.Combine(first, file!)), file);
    }

    [Fact]
    public async Task Runs_with_different_seeds_write_different_csv()
    {
        var first = await WriteAsync(1, "seed-1");
        var second = await WriteAsync(2, "seed-2");

        File.ReadAllText(Path.Combine(second, "cycles-critical-value.csv"))
            .ShouldNotBe(File.ReadAllText(Path.Combine(first, "cycles-critical-value.csv")));
    }

    [Fact]
    public async Task Mechanisms_in_one_call_see_the_same_population_and_the_same_arrivals()
    {
        var result = await Simulate.RunAsync("market", agents: 150, cycles: 5, seed: 9, "critical-value", "first-price", "lottery");

        var reference = result.Runs[0];
        foreach (var run in result.Runs.Skip(1))
        {
            run.Agents.Select(a => (a.Id, a.Name, a.Endowment, a.Demand, a.Strategy.Name))
                .ShouldBe(reference.Agents.Select(a => (a.Id, a.Name, a.Endowment, a.Demand, a.Strategy.Name)));
            run.Cycles[0].ActiveAgents.ShouldBe(reference.Cycles[0].ActiveAgents, "cycle 1 differs only after clearing");
            run.Cycles[0].Prices.ShouldBe(reference.Cycles[0].Prices);
        }
    }

    [Fact]
    public async Task Csv_has_one_row_per_cycle_with_prices_and_utilization_per_resource()
    {
        var folder = await WriteAsync(5, "columns");
        var lines = File.ReadAllLines(Path.Combine(folder, "cycles-critical-value.csv"));

        lines.Length.ShouldBe(41);
        var header = lines[0].Split(',');
        header.ShouldBe(CycleCsv.Header);
        foreach (var column in new[] { "price_cpu", "price_memory", "price_tokens", "price_attention", "utilization_cpu", "welfare",
                     "efficiency", "revenue", "gini", "jain", "starving", "bankrupt", "active_agents", "conserved",
                     "efficiency_basis", "welfare_bound", "optimal_welfare" })
            header.ShouldContain(column);
        lines[1].ShouldStartWith("market,base,critical-value,1,200,");
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        var at = header.Select((name, i) => (name, i)).ToDictionary(c => c.name, c => c.i);
        foreach (var row in rows)
        {
            row[at["conserved"]].ShouldBe("true");
            // 200 agents bid far more than optimal's 20 bids a cycle: every row is measured against the LP bound.
            row[at["efficiency_basis"]].ShouldBe("bound");
            row[at["efficiency"]].ShouldNotBeEmpty();
            row[at["optimal_welfare"]].ShouldBeEmpty();
            long.Parse(row[at["welfare_bound"]]).ShouldBeGreaterThanOrEqualTo(long.Parse(row[at["welfare"]]));
        }
    }
}
