using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CyAgents.SystemApi.Tests;

/// <summary>The operator's dashboard, served by the API and driven in headless Chromium like a person would.</summary>
public class DashboardTests
{
    private const string Operator = "dashboard-operator-token-0123456789";

    private static string ChromiumPath =>
        Environment.GetEnvironmentVariable("CYAGENTS_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    [Fact]
    public async Task Dashboard_page_is_served_without_a_token_and_locks_scripts_to_its_own_origin()
    {
        using var api = new ApiFactory();
        var client = api.ClientWith(null);
        var page = await client.GetAsync("/dashboard");
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        (await page.Content.ReadAsStringAsync()).ShouldContain("/dashboard/dashboard.js");
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self'");
        (await client.GetAsync("/dashboard/dashboard.js")).Content.Headers.ContentType!.MediaType.ShouldBe("text/javascript");
        (await client.GetAsync("/dashboard/dashboard.css")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Operator_sees_market_and_cycles_and_answers_a_prompt_with_a_reward_from_the_dashboard()
    {
        File.Exists(ChromiumPath).ShouldBeTrue($"Chromium is needed at {ChromiumPath} (scripts/ensure-chromium installs it)");
        var root = Directory.CreateTempSubdirectory("cyagents-dash-").FullName;
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(root, "db.sqlite")}",
            ["SystemApi:SocketPath"] = "",
            ["SystemApi:Urls"] = "http://127.0.0.1:0",
            ["SystemApi:OperatorToken"] = Operator,
            ["SystemApi:OperatorTokenFile"] = Path.Combine(root, "operator.token"),
            ["SystemApi:MarketCacheMilliseconds"] = "0",
            ["Workspaces:Root"] = Path.Combine(root, "workspaces"),
        });
        builder.Services.AddSystemApi(builder.Configuration);
        await using var app = builder.Build();
        app.MapSystemApi();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
            var agentToken = await SeedAsync(app.Services);
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", agentToken);
            (await http.PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("Which resource should I buy next?")))
                .StatusCode.ShouldBe(HttpStatusCode.Created);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
            var errors = new List<string>();
            page.PageError += (_, e) => errors.Add(e);
            await page.GotoAsync(address + "/dashboard");

            // Public market data needs no token: four resources and one price chart per kind.
            await page.Locator("#market tbody tr").Nth(3).WaitForAsync();
            (await page.Locator("#market tbody tr").CountAsync()).ShouldBe(4);
            await page.Locator(".price-chart polyline").Nth(3).WaitForAsync();

            await page.FillAsync("#token", Operator);
            await page.ClickAsync("#token-form button");
            var prompt = page.Locator(".prompt").Filter(new LocatorFilterOptions { HasText = "Which resource should I buy next?" });
            await prompt.WaitForAsync();
            // A one-line question costs 100 bp plus 100 bp for its first thousand characters (ADR 0135); the inbox shows it.
            (await prompt.InnerTextAsync()).ShouldContain("200 bp attention");
            await page.Locator("#cycles tbody tr").First.WaitForAsync();
            (await page.Locator("#cycles tbody tr").First.InnerTextAsync()).ShouldContain("critical-value");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ScreenshotFolder, "dashboard-prompts.png"), FullPage = true });

            await prompt.Locator("textarea").FillAsync("Memory: its price has fallen three cycles in a row.");
            await prompt.Locator("input[type=number]").FillAsync("7");
            await prompt.Locator("button").ClickAsync();
            await prompt.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });

            errors.ShouldBeEmpty();
            await using var db = await app.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
            var answered = await db.Set<PromptRecord>().SingleAsync();
            answered.Status.ShouldBe(PromptStatus.Answered);
            answered.Reward.ShouldBe(7);
            var ledger = app.Services.GetRequiredService<LedgerBinding>()(db);
            (await ledger.GetBalanceAsync(AccountIds.ForAgent("ada"))).Available.ShouldBe(100 + 7);
            (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        }
        finally
        {
            await app.StopAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>An agent with 100 credits and a token, and three settled cycles of market history.</summary>
    private static async Task<string> SeedAsync(IServiceProvider services)
    {
        await using var db = await services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();
        db.Add(new AgentRecord { Id = "ada", Name = "Ada", RootId = "ada", CreatedAt = DateTimeOffset.UtcNow });
        // Its running execution won some of the human's attention: the share its prompt is paid from (ADR 0135).
        db.Add(new ExecutionRecord
        {
            Id = "exe-ada", AgentId = "ada", Cycle = 3, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(250, 96, 0, 500),
        });
        for (var cycle = 1; cycle <= 3; cycle++)
        {
            db.Add(new CycleRecord
            {
                Number = cycle, Status = CycleStatus.Completed, Mechanism = "critical-value", BidCount = 4, WinnerCount = 2,
                Welfare = 90, Revenue = 40, InvariantHeld = true, StartedAt = DateTimeOffset.UtcNow, EndedAt = DateTimeOffset.UtcNow,
            });
            foreach (var kind in ResourceKinds.All)
                db.Add(new MarketStateRecord
                {
                    Cycle = cycle, Kind = kind, Supply = 1000, Demand = 800 + 100 * cycle, Allocated = 700,
                    Utilization = 0.7, Price = 0.01 * cycle * ((int)kind + 1), NextPrice = 0.01 * (cycle + 1) * ((int)kind + 1),
                });
        }
        await db.SaveChangesAsync();
        var ledger = services.GetRequiredService<LedgerBinding>()(db);
        await ledger.OpenAccountAsync(AccountIds.ForAgent("ada"), AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest("seed:ada", AccountIds.Treasury, AccountIds.ForAgent("ada"), 100, TransferKind.Endowment));
        return (await services.GetRequiredService<AgentTokenService>().IssueAsync("ada", "exe-ada", 3)).Token;
    }
}
