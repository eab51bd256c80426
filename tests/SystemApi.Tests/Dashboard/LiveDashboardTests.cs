using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Resources;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace CyAgents.SystemApi.Tests.Dashboard;

/// <summary>
/// Issue 13's dashboard acceptance in real headless Chromium against the API on loopback TCP: a snapshot, then changes from the
/// event stream only. Screenshots go to TestResults/dashboard beside the test assembly.
/// </summary>
public sealed class LiveDashboardTests(ITestOutputHelper output)
{
    private static readonly ResourceBundleDto Small = new(100, 64, 0, 0);

    [Fact]
    public async Task Dashboard_shows_a_balance_change_within_a_second_of_a_bid_draws_a_spawned_child_and_opens_the_agent_page()
    {
        await using var api = await LoopbackApi.StartAsync();
        await api.SeedAgentAsync("ada", 100);
        await api.SeedAgentAsync("bob", 50);
        await SeedMarketAsync(api);
        var adaToken = await api.IssueAsync("ada", "exe-ada-1", 3);
        using var ada = new HttpClient { BaseAddress = new Uri(api.Address) };
        ada.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adaToken);

        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.Response += (_, r) => { if (r.Status >= 400) errors.Add($"{r.Status} {r.Url}"); };
        await page.GotoAsync(api.Address + "/dashboard");
        await page.FillAsync("#token", ApiFactory.OperatorSecret);
        await page.ClickAsync("#token-form button");

        // The snapshot: both agents with their balances, and the stream open.
        var available = page.Locator("tr[data-agent-id=ada] td[data-field=available]");
        await Assertions.Expect(available).ToHaveTextAsync("100");
        await Assertions.Expect(page.Locator("#stream")).ToHaveAttributeAsync("data-state", "open");
        (await page.Locator("#agents tbody tr").CountAsync()).ShouldBe(2);

        // A bid escrows 30 credits: the row follows from the bid.placed event, with no polling behind it.
        var clock = Stopwatch.StartNew();
        var placed = await ada.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(Small, 30));
        var committed = clock.Elapsed;
        placed.StatusCode.ShouldBe(HttpStatusCode.Created);
        await Assertions.Expect(available).ToHaveTextAsync("70", new LocatorAssertionsToHaveTextOptions { Timeout = 5000 });
        var shown = clock.Elapsed;
        output.WriteLine($"bid committed after {committed.TotalMilliseconds:F0} ms, balance shown after {shown.TotalMilliseconds:F0} ms");
        (shown - committed).ShouldBeLessThan(TimeSpan.FromSeconds(1));
        (await page.Locator("tr[data-agent-id=ada] td[data-field=reserved]").TextContentAsync()).ShouldBe("30");
        await Shot(page, "dashboard-after-bid.png");

        // A spawn: the child's row appears and the lineage tree gets an edge from ada to it.
        var spawn = await ada.PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("ada-junior", 20));
        spawn.StatusCode.ShouldBe(HttpStatusCode.Created);
        var child = (await spawn.Content.ReadFromJsonAsync<SpawnResponse>())!.Agent.Id;
        await page.Locator($"#lineage line.edge[data-parent=ada][data-child=\"{child}\"]")
            .WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached }); // a vertical line has no width: "hidden" to Playwright
        await page.Locator($"#lineage g.node[data-agent-id=\"{child}\"]").WaitForAsync();
        await Assertions.Expect(page.Locator($"tr[data-agent-id=\"{child}\"] td[data-field=available]")).ToHaveTextAsync("20");
        await Assertions.Expect(available).ToHaveTextAsync("40"); // 70 - 20 endowment - 10 fee
        (await page.Locator("#lineage line.edge").CountAsync()).ShouldBe(1);
        await Shot(page, "dashboard-lineage.png");

        // Prices over time: one chart per resource with both axes labelled and the unit named.
        (await page.Locator("svg.price-chart").CountAsync()).ShouldBe(4);
        var cpu = page.Locator("svg.price-chart[data-kind=cpu]");
        (await cpu.Locator(".chart-title").TextContentAsync()).ShouldBe("cpu: credits per millicore");
        (await cpu.Locator(".axis-label").TextContentAsync()).ShouldBe("cycle");
        (await cpu.Locator(".x-tick").CountAsync()).ShouldBeGreaterThanOrEqualTo(2);
        (await cpu.Locator(".y-tick").CountAsync()).ShouldBeGreaterThanOrEqualTo(2);
        (await page.Locator("#timeline rect.cycle").CountAsync()).ShouldBe(3);

        // A task event (the tasks feature may not be on this build): its placeholder fills in from the stream.
        await using (var db = await api.DbAsync())
        {
            db.AddEvent(EventTypes.TaskPosted, "bob", 4, DateTimeOffset.UtcNow, new { taskId = "t-1", reward = 15, title = "sort a list" });
            await db.SaveChangesAsync();
        }
        await Assertions.Expect(page.Locator("#tasks li[data-type=\"task.posted\"]")).ToContainTextAsync("taskId=t-1");

        // The agent page: its bid, its transfers, its execution with output, and a line printed while the page is open.
        await page.ClickAsync("tr[data-agent-id=ada] a");
        await Assertions.Expect(page.Locator("#agent-page")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#agent-title")).ToHaveTextAsync("ada (ada)");
        await Assertions.Expect(page.Locator("#agent-bids tbody tr")).ToHaveCountAsync(1);
        (await page.Locator("#agent-bids tbody tr").InnerTextAsync()).ShouldContain("30");
        var kinds = await page.Locator("#agent-transfers tbody tr td:nth-child(2)").AllTextContentsAsync();
        kinds.ShouldContain("BidEscrow");
        kinds.ShouldContain("SpawnTransfer");
        kinds.ShouldContain("SpawnFee");
        var pre = page.Locator("#agent-executions [data-execution-id=exe-ada-1] pre");
        await Assertions.Expect(pre).ToContainTextAsync("hello from ada");
        await using (var db = await api.DbAsync())
        {
            db.AddEvent(EventTypes.ExecutionOutput, "ada", 3, DateTimeOffset.UtcNow, new { executionId = "exe-ada-1", stream = "stdout", line = "a live line" });
            await db.SaveChangesAsync();
        }
        await Assertions.Expect(pre).ToContainTextAsync("a live line");
        (await page.Locator("#agent-summary").TextContentAsync())!.ShouldContain($"parent of {child}");
        await Shot(page, "dashboard-agent-page.png");

        errors.ShouldBeEmpty();
    }

    private async Task Shot(IPage page, string name)
    {
        var path = Path.Combine(Chromium.ScreenshotFolder, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    /// <summary>Three completed cycles of market history, and an execution of ada's that printed a line.</summary>
    private static async Task SeedMarketAsync(LoopbackApi api)
    {
        await using var db = await api.DbAsync();
        var now = DateTimeOffset.UtcNow;
        for (var cycle = 1; cycle <= 3; cycle++)
        {
            db.Add(new CycleRecord
            {
                Number = cycle, Status = CycleStatus.Completed, Mechanism = "critical-value", BidCount = 2 + cycle, WinnerCount = 2,
                Welfare = 90, Revenue = 40, InvariantHeld = true, StartedAt = now, EndedAt = now,
            });
            foreach (var kind in ResourceKinds.All)
                db.Add(new MarketStateRecord
                {
                    Cycle = cycle, Kind = kind, Supply = 1000, Demand = 800 + 100 * cycle, Allocated = 700,
                    Utilization = 0.7, Price = 0.01 * cycle * ((int)kind + 1), NextPrice = 0.01 * (cycle + 1) * ((int)kind + 1),
                });
        }
        db.Add(new ExecutionRecord
        {
            Id = "exe-ada-1", AgentId = "ada", Cycle = 3, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(100, 64, 0, 0), StartedAt = now,
        });
        db.AddEvent(EventTypes.ExecutionOutput, "ada", 3, now, new { executionId = "exe-ada-1", stream = "stdout", line = "hello from ada" });
        await db.SaveChangesAsync();
    }
}
