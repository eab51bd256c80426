using System.Globalization;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>
/// A live run in one process: the System API (unix socket for sandboxes, loopback for humans), the Docker sandbox,
/// and the allocation cycles over one database and one ledger. Start, run cycles, dispose.
/// </summary>
public sealed class LiveEconomy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly DockerEngine _engine;

    private LiveEconomy(WebApplication app, DockerEngine engine, AllocationCycle cycle, DockerSandbox sandbox, CrashRecovery recovery,
        LiveOptions options, string image)
    {
        _app = app;
        _engine = engine;
        Cycle = cycle;
        Sandbox = sandbox;
        Recovery = recovery;
        Options = options;
        Image = image;
    }

    public AllocationCycle Cycle { get; }
    public DockerSandbox Sandbox { get; }
    public CrashRecovery Recovery { get; }
    public LiveOptions Options { get; }
    public string Image { get; }
    public IServiceProvider Services => _app.Services;
    public ILogger Logger => _app.Services.GetRequiredService<ILogger<LiveEconomy>>();
    /// <summary>Fires when the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>
    /// Checks the engine, starts the API, builds the agent image if missing, repairs an interrupted earlier run and
    /// creates Genesis on first start. Throws <see cref="DockerEngineUnavailableException"/> when no engine answers.
    /// </summary>
    public static async Task<LiveEconomy> StartAsync(LiveSettings settings, CancellationToken ct = default)
    {
        var engine = new DockerEngine(settings.EngineSocket);
        try
        {
            await engine.PingAsync(ct);
            var info = await engine.GetInfoAsync(ct);

            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
            var config = builder.Configuration;
            var live = settings.Live ?? config.GetSection(LiveOptions.Section).Get<LiveOptions>() ?? new LiveOptions();
            // One pricing rule for the cycles and the API's price view: the Market:Pricing section both read.
            if (config.GetSection(PricingOptions.Section).Get<PricingOptions>() is { } pricing) live = live with { Pricing = pricing };
            live = settings.AdjustLive?.Invoke(live) ?? live;
            var supply = live.Capacity.SupplyFrom(info.NCPU, info.MemTotal);
            var keys = new Dictionary<string, string?>
            {
                ["Database:Provider"] = settings.PostgresConnectionString is null ? "sqlite" : "postgres",
                ["Database:ConnectionString"] = settings.PostgresConnectionString ?? $"Data Source={Path.GetFullPath(settings.Database)}",
                ["SystemApi:SocketPath"] = Path.GetFullPath(settings.ApiSocket),
                ["SystemApi:Urls"] = settings.ApiUrls,
                ["SystemApi:OperatorTokenFile"] = Path.GetFullPath(Path.Combine(settings.DataDirectory, "operator.token")),
                ["Workspaces:Root"] = Path.GetFullPath(settings.WorkspacesRoot),
                ["Workspaces:Template"] = Path.GetFullPath(settings.WorkspaceTemplate),
                // The API shows (and checks bids against) the supply the engine really has.
                ["Market:Supply:Cpu"] = supply.CpuMillicores.ToString(CultureInfo.InvariantCulture),
                ["Market:Supply:Memory"] = supply.MemoryMiB.ToString(CultureInfo.InvariantCulture),
                ["Market:Supply:Tokens"] = supply.Tokens.ToString(CultureInfo.InvariantCulture),
                ["Market:Supply:Attention"] = supply.AttentionBasisPoints.ToString(CultureInfo.InvariantCulture),
            };
            foreach (var (key, value) in settings.Configuration) keys[key] = value;
            config.AddInMemoryCollection(keys);
            Directory.CreateDirectory(settings.DataDirectory);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.ApiSocket))!);

            var log = SystemLog.Create(settings.Log, SystemLog.Orchestrator, alsoConsole: settings.ConsoleLog);
            builder.Logging.AddSystemLog(log);
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
            // One durable ledger for the API and the cycles; it joins the caller's transaction on the same context.
            builder.Services.AddSingleton<LedgerBinding>(_ => db => new EfLedger(db));
            builder.Services.AddSystemApi(config);
            var app = builder.Build();
            app.MapSystemApi();
            if (settings.OnAgentRequest is { } onAgentRequest)
            {
                // Runs after authentication, so the caller's execution is known.
                app.Use(async (http, next) =>
                {
                    if (http.User.FindFirst(Caller.ExecutionClaim)?.Value is { } executionId) onAgentRequest(executionId, DateTimeOffset.UtcNow);
                    await next(http);
                });
            }
            await app.StartAsync(ct);

            var services = app.Services;
            var logs = services.GetRequiredService<ILoggerFactory>();
            var databases = services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
            var binding = services.GetRequiredService<LedgerBinding>();
            var tokens = new ApiExecutionTokens(services.GetRequiredService<AgentTokenService>());

            var image = await new AgentImage(engine, new AgentImageOptions(), logs.CreateLogger<AgentImage>()).EnsureAsync(ct);
            var sandboxOptions = new SandboxOptions
            {
                Image = image,
                ApiSocketFolder = Path.GetDirectoryName(Path.GetFullPath(settings.ApiSocket))!,
                DebugAgentId = settings.DebugAgentId,
            };
            if (settings.DebuggerFolder is not null) sandboxOptions = sandboxOptions with { DebuggerFolder = settings.DebuggerFolder };
            var sandbox = new DockerSandbox(engine, sandboxOptions, logs.CreateLogger<DockerSandbox>());
            var workspaces = new AgentWorkspaces(settings.WorkspacesRoot, settings.WorkspaceTemplate);
            var containerSocket = $"{sandboxOptions.ContainerApiFolder}/{Path.GetFileName(settings.ApiSocket)}";
            var cycle = new AllocationCycle(databases, db => binding(db), settings.SandboxDecorator?.Invoke(sandbox) ?? sandbox, tokens, workspaces, live, supply, containerSocket,
                logs.CreateLogger<AllocationCycle>());
            var recovery = new CrashRecovery(databases, db => binding(db), engine, tokens, logs.CreateLogger<CrashRecovery>());
            var economy = new LiveEconomy(app, engine, cycle, sandbox, recovery, live, image);

            using (economy.Logger.BeginScope(new Dictionary<string, object> { ["Component"] = "Orchestrator" }))
                economy.Logger.LogInformation(
                    "Live run on {Engine} ({Cpus} CPUs, {MemoryMiB} MiB): supply per cycle {Supply}, mechanism {Mechanism}, image {Image}, API on {Socket}",
                    settings.EngineSocket, info.NCPU, info.MemTotal / 1048576, supply, live.Mechanism, image, settings.ApiSocket);
            await recovery.RepairAsync(ct);
            await cycle.BootstrapAsync(ct);
            return economy;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs cycles until <paramref name="count"/> are done (null: until stopped). Stopping kills running containers,
    /// finishes the cycle's bookkeeping and returns; a broken invariant throws.
    /// </summary>
    public async Task<IReadOnlyList<CycleReport>> RunCyclesAsync(int? count, TimeSpan interval, CancellationToken ct = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, Stopping);
        var reports = new List<CycleReport>();
        while ((count is null || reports.Count < count) && !stop.IsCancellationRequested)
        {
            var number = await Cycle.NextNumberAsync(CancellationToken.None);
            reports.Add(await Cycle.RunAsync(number, stop.Token));
            if ((count is null || reports.Count < count) && interval > TimeSpan.Zero)
            {
                try { await Task.Delay(interval, stop.Token); }
                catch (OperationCanceledException) { }
            }
        }
        return reports;
    }

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(CancellationToken.None); }
        finally
        {
            await _app.DisposeAsync();
            _engine.Dispose();
        }
    }

    private sealed class ApiExecutionTokens(AgentTokenService service) : IExecutionTokens
    {
        public async Task<string> IssueAsync(string agentId, string executionId, long cycle, CancellationToken ct) =>
            (await service.IssueAsync(agentId, executionId, cycle, ct)).Token;

        public Task RevokeAsync(string executionId, CancellationToken ct) => service.RevokeExecutionAsync(executionId, ct);
    }
}
