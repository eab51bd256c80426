using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Playwright;

// The observability surface with 1,000 synthetic agents, all through the API on loopback TCP (issue 13): agents created with
// POST /v1/operator/agents, two bids each with POST /v1/bids, the operator's event stream read live and replayed from the start,
// GET /metrics and GET /v1/agents timed, and the dashboard's time to first render in headless Chromium (navigation to a filled
// agents table). Usage: dotnet run -c Release --project bench/Dashboard [-- --agents 1000 --renders 5]
var agents = Arg("--agents", 1000);
var renders = Arg("--renders", 5);
const string Operator = "dashboard-bench-operator-token-0123456789";
var chromium = Environment.GetEnvironmentVariable("CYAGENTS_CHROMIUM") is { Length: > 0 } c ? c : "/usr/bin/chromium";
var root = Directory.CreateTempSubdirectory("cyagents-dash-bench-").FullName;
try
{
    var template = Directory.CreateDirectory(Path.Combine(root, "template")).FullName;
    File.WriteAllText(Path.Combine(template, "agent.json"), """{"runtime":"python","command":["python3","agent.py"]}""");
    File.WriteAllText(Path.Combine(template, "agent.py"), "print('synthetic')\n");
    var builder = WebApplication.CreateBuilder();
    builder.Logging.ClearProviders();
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Database:Provider"] = "sqlite",
        ["Database:ConnectionString"] = $"Data Source={Path.Combine(root, "cyagents.db")}",
        ["SystemApi:SocketPath"] = "",
        ["SystemApi:Urls"] = "http://127.0.0.1:0",
        ["SystemApi:OperatorToken"] = Operator,
        ["SystemApi:OperatorTokenFile"] = Path.Combine(root, "operator.token"),
        ["SystemApi:RateLimitPerSecond"] = "1000000",
        ["SystemApi:RateLimitBurst"] = "1000000",
        ["Workspaces:Root"] = Path.Combine(root, "workspaces"),
        ["Workspaces:Template"] = template,
        ["Workspaces:Templates"] = root,
        ["History:Root"] = Path.Combine(root, "history"),
        ["SystemLog:Path"] = Path.Combine(root, "system.log"),
        ["SystemLog:Console"] = "false",
    });
    builder.Services.AddSystemApi(builder.Configuration);
    await using var app = builder.Build();
    app.MapSystemApi();
    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    using var op = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
    op.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Operator);

    // 1. Agents, through the operator endpoint, eight at a time.
    var clock = Stopwatch.StartNew();
    var ids = new string[agents];
    await Parallel.ForAsync(0, agents, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
    {
        var response = await op.PostAsJsonAsync(ApiRoutes.OperatorAgents, new CreateAgentRequest($"synthetic-{i:D4}", 1000, template), ct);
        response.EnsureSuccessStatusCode();
        ids[i] = (await response.Content.ReadFromJsonAsync<CreateAgentResponse>(ct))!.Agent.Id;
    });
    var createSeconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"created {agents} agents in {createSeconds:F1} s ({agents / createSeconds:F0}/s)");

    // 2. A live reader of the operator's stream, then two bids per agent (tokens as the orchestrator issues them per execution).
    var tokens = app.Services.GetRequiredService<AgentTokenService>();
    var agentTokens = new string[agents];
    for (var i = 0; i < agents; i++) agentTokens[i] = (await tokens.IssueAsync(ids[i], $"exe-bench-{i}", 1)).Token;
    var startSeq = (await op.GetFromJsonAsync<AgentPage>($"{ApiRoutes.Agents}?take=1"))!.EventSeq;
    var expected = 2 * agents;
    using var live = new CancellationTokenSource(TimeSpan.FromMinutes(5));
    var liveReader = ReadEventsAsync(address, startSeq, expected, live.Token);
    await Task.Delay(200);
    var bidsStart = Stopwatch.GetTimestamp();
    clock.Restart();
    using var agentClient = new HttpClient { BaseAddress = new Uri(address) };
    await Parallel.ForAsync(0, agents, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
    {
        for (var b = 0; b < 2; b++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, ApiRoutes.Bids)
            {
                Content = JsonContent.Create(new PlaceBidRequest(new ResourceBundleDto(100 + 50 * b, 64, 0, 0), 10 + b)),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", agentTokens[i]);
            (await agentClient.SendAsync(request, ct)).EnsureSuccessStatusCode();
        }
    });
    var bidSeconds = clock.Elapsed.TotalSeconds;
    var bidsEnd = Stopwatch.GetTimestamp();
    var (liveCount, _, lastArrival) = await liveReader;
    Console.WriteLine($"placed {expected} bids in {bidSeconds:F2} s ({expected / bidSeconds:F0}/s, 16 clients)");
    Console.WriteLine($"live stream: {liveCount} events at {liveCount / Stopwatch.GetElapsedTime(bidsStart, lastArrival).TotalSeconds:F0} events/s " +
                      $"(as fast as they were written); the last arrived {Stopwatch.GetElapsedTime(bidsEnd, lastArrival).TotalMilliseconds:F0} ms after the last bid's response");

    // 3. Replay: a reader that connects after the fact and reads every event from the start.
    var replays = new List<double>();
    var total = (await op.GetFromJsonAsync<AgentPage>($"{ApiRoutes.Agents}?take=1"))!.EventSeq;
    for (var r = 0; r < 3; r++)
    {
        var (count, seconds, _) = await ReadEventsAsync(address, 0, (int)total, CancellationToken.None);
        replays.Add(count / seconds);
    }
    Console.WriteLine($"replay of {total} events from the start: median {Median(replays):F0} events/s (runs: {string.Join(", ", replays.Select(x => x.ToString("F0")))})");

    // 4. GET /metrics and a page of GET /v1/agents, sequentially.
    var metrics = await TimeAsync(op, "/metrics", 200);
    var agentPage = await TimeAsync(op, $"{ApiRoutes.Agents}?take=200", 100);
    Console.WriteLine($"GET /metrics: p50 {Percentile(metrics, 50):F2} ms, p90 {Percentile(metrics, 90):F2} ms (200 requests, {agents} agents)");
    Console.WriteLine($"GET /v1/agents?take=200: p50 {Percentile(agentPage, 50):F2} ms, p90 {Percentile(agentPage, 90):F2} ms (100 requests)");

    // 5. The dashboard's first render: navigation to a table with every agent, in headless Chromium.
    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = chromium, Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    var firstRenders = new List<double>();
    for (var r = 0; r < renders + 1; r++)
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        // The token as the page keeps it after the operator typed it once (sessionStorage), so the load starts the snapshot.
        await context.AddInitScriptAsync($"sessionStorage.setItem('cyagents.operatorToken', '{Operator}');");
        var page = await context.NewPageAsync();
        var watch = Stopwatch.StartNew();
        await page.GotoAsync(address + "/dashboard");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#agents tbody tr').length === {agents} && document.getElementById('stream').dataset.state === 'open'",
            null, new PageWaitForFunctionOptions { Timeout = 120_000, PollingInterval = 10 });
        // The first run warms the server's and the browser's caches; it is not counted.
        if (r > 0) firstRenders.Add(watch.Elapsed.TotalMilliseconds);
        if (r == renders) await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "cyagents-dashboard-1000.png") });
    }
    Console.WriteLine($"dashboard first render with {agents} agents (navigation to a filled table, stream open): median {Median(firstRenders):F0} ms, " +
                      $"p90 {Percentile(firstRenders, 90):F0} ms (runs: {string.Join(", ", firstRenders.Select(x => x.ToString("F0")))})");
    Console.WriteLine($"screenshot: {Path.Combine(Path.GetTempPath(), "cyagents-dashboard-1000.png")}");
    Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
    await app.StopAsync();
}
finally
{
    Directory.Delete(root, recursive: true);
}
return;

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}

// Reads the operator's stream from `after` until `count` events arrived: the count, the seconds it took, when the last arrived.
async Task<(int Count, double Seconds, long LastArrival)> ReadEventsAsync(string baseAddress, long after, int count, CancellationToken ct)
{
    using var http = new HttpClient { BaseAddress = new Uri(baseAddress), Timeout = Timeout.InfiniteTimeSpan };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Operator);
    var watch = Stopwatch.StartNew();
    using var response = await http.GetAsync($"/v1/events?after={after}", HttpCompletionOption.ResponseHeadersRead, ct);
    response.EnsureSuccessStatusCode();
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
    var seen = 0;
    var last = 0L;
    while (seen < count && await reader.ReadLineAsync(ct) is { } line)
        if (line.StartsWith("id: ", StringComparison.Ordinal)) { seen++; last = Stopwatch.GetTimestamp(); }
    return (seen, watch.Elapsed.TotalSeconds, last);
}

static async Task<List<double>> TimeAsync(HttpClient http, string path, int times)
{
    (await http.GetAsync(path)).EnsureSuccessStatusCode();
    var samples = new List<double>(times);
    for (var i = 0; i < times; i++)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(path);
        await response.Content.ReadAsByteArrayAsync();
        response.EnsureSuccessStatusCode();
        samples.Add(watch.Elapsed.TotalMilliseconds);
    }
    return samples;
}

static double Median(List<double> xs) => Percentile(xs, 50);

static double Percentile(List<double> xs, int p)
{
    var sorted = xs.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
