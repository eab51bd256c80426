using CyAgents.Orchestrator.Simulation.Sweeps;
using Microsoft.Playwright;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>The sweep's report opens offline in headless Chromium and draws a chart per measure. Without Chromium it fails.</summary>
public class SweepReportBrowserTests
{
    [Fact]
    public async Task Sweep_report_opens_offline_with_a_chart_per_measure_comparing_every_cell()
    {
        File.Exists(HtmlReportBrowserTests.ChromiumPath).ShouldBeTrue($"Chromium is needed at {HtmlReportBrowserTests.ChromiumPath}");
        var config = SweepConfig.Parse("""
            {"name": "browser", "scenario": "market", "agents": 40, "cycles": 6, "seeds": [1, 2, 3],
             "grid": {"mechanism": ["critical-value", "lottery"], "market.supply_ratio": [0.5, 0.9]}}
            """, "sweep.json", Path.GetTempPath());
        var folder = Simulate.TempFolder("sweep-html");
        await SweepRunner.RunAsync(config, folder, parallel: 2);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = HtmlReportBrowserTests.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"],
        });
        var context = await browser.NewContextAsync();
        var requests = new List<string>();
        await context.RouteAsync("**/*", async route =>
        {
            if (!route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
            {
                requests.Add(route.Request.Url);
                await route.AbortAsync();
            }
            else
                await route.ContinueAsync();
        });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(new Uri(Path.Combine(folder, SweepRunner.ReportFile)).AbsoluteUri);
        await page.WaitForSelectorAsync("body[data-charts-ready]");

        errors.ShouldBeEmpty();
        requests.ShouldBeEmpty("the report must not fetch anything");
        var charts = await page.EvaluateAsync<int[][]>("() => window.__charts.map(c => c.data.datasets.map(d => d.data.filter(x => x !== null).length))");
        // A measure no cell has gets no chart: this sweep has no hedge agents, so no adaptive_gain or learned_shade.
        charts.Length.ShouldBe(SweepRunner.MeasureNames.Count(m => m.Name is not ("adaptive_gain" or "learned_shade")));
        charts.ShouldAllBe(datasets => datasets.Length == 2 && datasets.All(points => points == 4), "interval and mean for each of the 4 cells");
        (await page.Locator("#cells tr").CountAsync()).ShouldBe(5, "a header and one row per cell");
    }
}
