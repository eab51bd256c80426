using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using CyAgents.Economy.Resources;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using Microsoft.EntityFrameworkCore;

// The LLM gateway's added latency: the same chat request sent straight to a fake upstream on loopback and through the
// gateway (over its unix socket, as agents call it: auth, rate limits, reservation, forwarding, settlement, call record,
// llm.call event), interleaved in one run so both see the same machine. Also the first-chunk latency of streams, both ways.
// Usage: dotnet run -c Release --project bench/LlmGateway [-- --calls 2000]
var calls = args.Length >= 2 && args[0] == "--calls" && int.TryParse(args[1], out var n) ? n : 2000;
var root = Directory.CreateTempSubdirectory("cyagents-llm-bench-").FullName;
try
{
    await using var upstream = await FakeUpstream.StartAsync();
    var socket = Path.Combine(root, "api", "api.sock");
    var builder = WebApplication.CreateBuilder();
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Database:Provider"] = "sqlite",
        ["Database:ConnectionString"] = $"Data Source={Path.Combine(root, "cyagents.db")}",
        ["SystemApi:SocketPath"] = socket,
        ["SystemApi:Urls"] = "",
        ["SystemApi:OperatorTokenFile"] = Path.Combine(root, "operator.token"),
        ["SystemApi:RateLimitPerSecond"] = "1000000",
        ["SystemApi:RateLimitBurst"] = "1000000",
        ["Workspaces:Root"] = Path.Combine(root, "workspaces"),
        ["Workspaces:Template"] = Path.Combine(root, "template"),
        ["Llm:Providers:0:Name"] = "fake",
        ["Llm:Providers:0:Kind"] = "openai-compatible",
        ["Llm:Providers:0:BaseUrl"] = upstream.BaseUrl,
        ["Llm:Providers:0:ApiKey"] = "sk-bench",
        ["Llm:Providers:0:Models:0"] = "m",
    });
    builder.Logging.AddSystemLog(SystemLog.Create(Path.Combine(root, "system.log"), SystemLog.SystemApi));
    builder.Services.AddSystemApi(builder.Configuration);
    await using var app = builder.Build();
    app.MapSystemApi();
    await app.StartAsync();

    await using (var db = await app.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync())
    {
        db.Add(new AgentRecord { Id = "bench", Name = "bench", RootId = "bench", CreatedAt = DateTimeOffset.UtcNow });
        db.Add(new ExecutionRecord { Id = "exe-bench", AgentId = "bench", Cycle = 1, Status = ExecutionStatus.Running, Granted = ResourceBundle.Create(tokens: 1_000_000_000) });
        await db.SaveChangesAsync();
    }
    var token = (await app.Services.GetRequiredService<AgentTokenService>().IssueAsync("bench", "exe-bench", 1)).Token;

    using var direct = new HttpClient { BaseAddress = new Uri(upstream.BaseUrl + "/") };
    direct.DefaultRequestHeaders.Authorization = new("Bearer", "sk-bench");
    using var gateway = new HttpClient(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://localhost/v1/") };
    gateway.DefaultRequestHeaders.Authorization = new("Bearer", token);

    var plain = Body(stream: false);
    var streamed = Body(stream: true);
    // Warm-up: JIT, connection pools, SQLite pages.
    for (var i = 0; i < 200; i++)
    {
        await CallAsync(direct, plain);
        await CallAsync(gateway, plain);
        await FirstChunkAsync(direct, streamed);
        await FirstChunkAsync(gateway, streamed);
    }

    var loadBefore = LoadAverage();
    var (d, g, ds, gs, hop) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
    for (var i = 0; i < calls; i++)
    {
        d.Add(await CallAsync(direct, plain));
        g.Add(await CallAsync(gateway, plain));
        ds.Add(await FirstChunkAsync(direct, streamed));
        gs.Add(await FirstChunkAsync(gateway, streamed));
        hop.Add(await GetAsync(gateway, "models"));
    }
    Console.WriteLine($"LLM gateway latency, {calls} calls each way, interleaved (ms); load average {loadBefore} before, {LoadAverage()} after:");
    Console.WriteLine($"{"",-28}{"p50",8}{"p90",8}{"p99",8}");
    Row("chat, upstream direct", d);
    Row("chat, through gateway", g);
    Added("chat, added by gateway", g, d);
    Row("GET /v1/models (API hop)", hop);
    Row("stream first chunk, direct", ds);
    Row("stream first chunk, gateway", gs);
    Added("stream first chunk, added", gs, ds);
    await app.StopAsync();
    return 0;
}
finally
{
    try { Directory.Delete(root, recursive: true); } catch (IOException) { }
}

static byte[] Body(bool stream) => Encoding.UTF8.GetBytes(new JsonObject
{
    ["model"] = "m", ["max_tokens"] = 32, ["stream"] = stream,
    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "What should I bid for the next cycle?" }),
}.ToJsonString());

static async Task<double> CallAsync(HttpClient http, byte[] body)
{
    var start = Stopwatch.GetTimestamp();
    using var content = new ByteArrayContent(body);
    content.Headers.ContentType = new("application/json");
    using var response = await http.PostAsync("chat/completions", content);
    await response.Content.ReadAsByteArrayAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"status {(int)response.StatusCode}");
    return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}

static async Task<double> GetAsync(HttpClient http, string path)
{
    var start = Stopwatch.GetTimestamp();
    using var response = await http.GetAsync(path);
    await response.Content.ReadAsByteArrayAsync();
    return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}

static async Task<double> FirstChunkAsync(HttpClient http, byte[] body)
{
    var start = Stopwatch.GetTimestamp();
    using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new ByteArrayContent(body) };
    request.Content.Headers.ContentType = new("application/json");
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"status {(int)response.StatusCode}");
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
    double first = 0;
    while (await reader.ReadLineAsync() is { } line)
    {
        if (first == 0 && line.StartsWith("data: {", StringComparison.Ordinal)) first = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (line == "data: [DONE]") break;
    }
    return first;
}

static double P(List<double> xs, int p)
{
    var sorted = xs.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1)];
}

static void Row(string name, List<double> xs) => Console.WriteLine($"{name,-28}{P(xs, 50),8:F3}{P(xs, 90),8:F3}{P(xs, 99),8:F3}");

// The difference of the percentiles (not a percentile of differences: the two calls of a pair are independent samples).
static void Added(string name, List<double> through, List<double> direct) =>
    Console.WriteLine($"{name,-28}{P(through, 50) - P(direct, 50),8:F3}{P(through, 90) - P(direct, 90),8:F3}{P(through, 99) - P(direct, 99),8:F3}");

// The 1-minute load average (Linux), so a figure is quoted with how busy the machine was.
static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

/// <summary>An OpenAI-format server on loopback that answers at once (and streams four chunks) with usage.</summary>
sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private FakeUpstream(WebApplication app, string baseUrl) => (_app, BaseUrl) = (app, baseUrl);
    public string BaseUrl { get; }

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var answer = Encoding.UTF8.GetBytes("""
            {"id":"chatcmpl-b","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Bid ten credits."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":4,"total_tokens":18}}
            """);
        string[] chunks =
        [
            """{"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}""",
            """{"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Bid ten"},"finish_reason":null}],"usage":null}""",
            """{"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" credits."},"finish_reason":"stop"}],"usage":null}""",
            """{"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":4,"total_tokens":18}}""",
        ];
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            if (body?["stream"]?.GetValue<bool>() != true)
            {
                http.Response.ContentType = "application/json";
                await http.Response.Body.WriteAsync(answer);
                return;
            }
            http.Response.ContentType = "text/event-stream";
            foreach (var chunk in chunks)
            {
                await http.Response.WriteAsync("data: " + chunk + "\n\n");
                await http.Response.Body.FlushAsync();
            }
            await http.Response.WriteAsync("data: [DONE]\n\n");
        });
        await app.StartAsync();
        return new FakeUpstream(app, app.Urls.First().TrimEnd('/') + "/v1");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
