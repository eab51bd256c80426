using CyAgents.Orchestrator.Simulation.Report;
using Microsoft.Playwright;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>
/// Opens the report in headless Chromium (Debian's, driven by Playwright's bundled driver) with the network cut
/// off, so a chart that needed anything from outside the file would not draw. Without Chromium the test fails.
/// </summary>
public class HtmlReportBrowserTests
{
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("CYAGENTS_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    [Fact]
    public async Task Report_opens_offline_in_headless_chromium_with_every_chart_drawn_from_data()
    {
        File.Exists(ChromiumPath).ShouldBeTrue($"Chromium is needed at {ChromiumPath} (scripts/ensure-chromium installs it)");
        var folder = Simulate.TempFolder("html");
        var result = await Simulate.RunAsync("market", agents: 120, cycles: 40, seed: 8, "critical-value", "first-price", "posted-price");
        ReportWriter.Write(result, folder);
        var report = Path.Combine(folder, ReportWriter.ReportFile);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
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
        await page.GotoAsync(new Uri(report).AbsoluteUri);
        await page.WaitForSelectorAsync("body[data-charts-ready]");

        var screenshot = Path.Combine(Path.GetTempPath(), "cyagents-sim-report.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        await page.Locator("#prices").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.ChangeExtension(screenshot, ".prices.png") });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.ChangeExtension(screenshot, ".top.png") });

        errors.ShouldBeEmpty();
        requests.ShouldBeEmpty("the report must not fetch anything");
        new FileInfo(screenshot).Length.ShouldBeGreaterThan(50_000);

        // Every chart holds one dataset per run, each with points.
        var charts = await page.EvaluateAsync<int[][]>(
            "() => window.__charts.map(c => c.data.datasets.map(d => d.data.length))");
        charts.Length.ShouldBeGreaterThanOrEqualTo(12, "4 price + 4 utilization + Gini + wealth + outcome charts");
        charts.ShouldAllBe(datasets => datasets.Length == 3 && datasets.All(points => points > 0));
        var canvases = await page.Locator("canvas").CountAsync();
        canvases.ShouldBe(charts.Length);

        // And they are drawn: each canvas has a good share of coloured (non-white, non-transparent) pixels.
        var inked = await page.EvaluateAsync<double[]>("""
            () => Array.from(document.querySelectorAll('canvas')).map(c => {
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let ink = 0;
              for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) ink++;
              return ink / (c.width * c.height);
            })
            """);
        inked.ShouldAllBe(share => share > 0.01);

        var tableRows = await page.Locator("#runs tr").CountAsync();
        tableRows.ShouldBe(1 + 3);
        (await page.TitleAsync()).ShouldBe("CyAgents simulation report");
    }
}
