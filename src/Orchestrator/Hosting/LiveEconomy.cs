using CyAgents.Persistence.Ledger;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Logging;
using CyAgents.SystemApi.Market;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>
/// A live run in one process: the System API (unix socket for sandboxes, loopback for humans), the Docker sandbox,
/// and the allocation cycles over one database and one ledger. Start, run cycles, dispose.
/// </summary>
public sealed class LiveEconomy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly DockerEngine _engine;
    private RunLock? _lock;

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
    /// Validates the configuration (before contacting the engine), checks the engine, builds the agent image if missing,
    /// starts the API, repairs an interrupted earlier run and creates Genesis on first start. Throws
    /// <see cref="OptionsValidationException"/> naming the bad configuration key, and
    /// <see cref="DockerEngineUnavailableException"/> when no engine answers, and <see cref="StorageFailedException"/> when the
    /// data folder or the database refuses a write (full, read-only, locked).
    /// </summary>
    public static async Task<LiveEconomy> StartAsync(LiveSettings settings, CancellationToken ct = default)
    {
        var builder = CreateBuilder(settings);
        // A bad setting stops here, before the engine is contacted or anything (the log included) is created.
        OrchestratorExtensions.ValidateConfiguration(builder.Configuration);
        var engine = new DockerEngine(settings.EngineSocket);
        WebApplication? app = null;
        RunLock? runLock = null;
        try
        {
            await engine.PingAsync(ct);
            var info = await engine.GetInfoAsync(ct);
            // One process per data folder (ADR 0102): `agents create` finds a running run by this lock and goes through its API.
            runLock = RunLock.Acquire(settings.DataDirectory, new RunInfo(Environment.ProcessId,
                settings.ApiUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            HostFileModes.Restrict(settings.DataDirectory, settings.PostgresConnectionString is null ? Path.GetFullPath(settings.Database) : null,
                settings.Log);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.ApiSocket))!);
            app = Compose(builder, settings);
            var live = app.Services.GetRequiredService<LiveOptions>();
            var logs = app.Services.GetRequiredService<ILoggerFactory>();
            var image = await new AgentImage(engine, new AgentImageOptions(), logs.CreateLogger<AgentImage>()).EnsureAsync(ct);
            app.Services.GetRequiredService<EngineAtStart>().Record(engine, info, image);
            await app.StartAsync(ct);

            var services = app.Services;
            var supply = services.GetRequiredService<CycleSupply>();
            var economy = new LiveEconomy(app, engine, services.GetRequiredService<AllocationCycle>(), services.GetRequiredService<DockerSandbox>(),
                services.GetRequiredService<CrashRecovery>(), live, image) { _lock = runLock };
            using (economy.Logger.BeginScope(new Dictionary<string, object> { ["Component"] = "Orchestrator" }))
                economy.Logger.LogInformation(
                    "Live run on {Engine} ({Cpus} CPUs, {MemoryMiB} MiB): supply per cycle {Supply}, mechanism {Mechanism}, image {Image}, API on {Socket}",
                    settings.EngineSocket, info.NCPU, info.MemTotal / 1048576, supply, live.Mechanism, image, settings.ApiSocket);
            if (await services.GetRequiredService<ExecutionHistory>().StartAsync(ct) is { } noHistory) Console.Error.WriteLine($"cyagents run: {noHistory}");
            await economy.Recovery.RepairAsync(ct);
            await economy.Cycle.BootstrapAsync(ct);
            return economy;
        }
        catch (Exception e)
        {
            if (app is not null) await app.DisposeAsync();
            engine.Dispose();
            runLock?.Dispose();
            if (StorageFailedException.From(e) is { } storage) throw storage;
            throw;
        }
    }

    /// <summary>The host's configuration: appsettings.json, environment variables, then the settings' keys, which win.</summary>
    private static WebApplicationBuilder CreateBuilder(LiveSettings settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        var keys = new Dictionary<string, string?>
        {
            ["Database:Provider"] = settings.PostgresConnectionString is null ? "sqlite" : "postgres",
            ["Database:ConnectionString"] = settings.PostgresConnectionString ?? $"Data Source={Path.GetFullPath(settings.Database)}",
            ["SystemApi:SocketPath"] = Path.GetFullPath(settings.ApiSocket),
            ["SystemApi:Urls"] = settings.ApiUrls,
            ["SystemApi:OperatorTokenFile"] = Path.GetFullPath(Path.Combine(settings.DataDirectory, "operator.token")),
            ["Workspaces:Root"] = Path.GetFullPath(settings.WorkspacesRoot),
            ["Workspaces:Template"] = Path.GetFullPath(settings.WorkspaceTemplate),
            ["Workspaces:Templates"] = Path.GetFullPath(settings.TemplatesFolder ?? Path.GetDirectoryName(Path.GetFullPath(settings.WorkspaceTemplate))!),
            // Workspace history lives in the data folder, which no sandbox mounts (ADR 0108).
            ["History:Root"] = Path.GetFullPath(Path.Combine(settings.DataDirectory, "history")),
        };
        foreach (var (key, value) in settings.Configuration) keys[key] = value;
        builder.Configuration.AddInMemoryCollection(keys);
        return builder;
    }

    /// <summary>The host's services: the system log, <see cref="OrchestratorExtensions.AddOrchestrator"/> and the API.</summary>
    private static WebApplication Compose(WebApplicationBuilder builder, LiveSettings settings)
    {
        var config = builder.Configuration;

        builder.Logging.AddSystemLog(SystemLog.Create(settings.Log, SystemLog.Orchestrator, alsoConsole: settings.ConsoleLog,
            options: SystemLogOptions.From(config)));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        // One durable ledger for the API and the cycles; it joins the caller's transaction on the same context.
        builder.Services.AddSingleton<LedgerBinding>(_ => db => new EfLedger(db));
        builder.Services.AddOrchestrator(config, settings);
        builder.Services.AddSystemApi(config);
        var app = builder.Build();
        app.MapSystemApi();
        if (settings.OnAgentRequest is { } onAgentRequest)
        {
            var clock = app.Services.GetRequiredService<TimeProvider>();
            // Runs after authentication, so the caller's execution is known.
            app.Use(async (http, next) =>
            {
                if (http.User.FindFirst(Caller.ExecutionClaim)?.Value is { } executionId) onAgentRequest(executionId, clock.GetUtcNow());
                await next(http);
            });
        }
        return app;
    }

    /// <summary>
    /// Runs cycles until <paramref name="count"/> are done (null: until stopped). Stopping kills running containers,
    /// finishes the cycle's bookkeeping and returns; a broken invariant throws. A write the storage refuses stops the run with
    /// <see cref="StorageFailedException"/>: the cycle's committed steps stand, the refused one left nothing, and the next
    /// start's recovery finishes the cycle (ADR 0087).
    /// </summary>
    public async Task<IReadOnlyList<CycleReport>> RunCyclesAsync(int? count, TimeSpan interval, CancellationToken ct = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, Stopping);
        var reports = new List<CycleReport>();
        var engineLost = false;
        while ((count is null || reports.Count < count) && !stop.IsCancellationRequested)
        {
            try { await ReconnectAsync(engineLost, stop.Token); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
            var number = await Cycle.NextNumberAsync(CancellationToken.None);
            try
            {
                var report = await Cycle.RunAsync(number, stop.Token);
                reports.Add(report);
                engineLost = report.Executions.Any(e => e.Status == Persistence.Records.ExecutionStatus.HostFault);
            }
            catch (Exception e) when (StorageFailedException.From(e) is { } storage)
            {
                Logger.LogCritical("Cycle {Cycle} stopped: {Reason}", number, storage.Message);
                throw storage;
            }
            if ((count is null || reports.Count < count) && interval > TimeSpan.Zero)
            {
                try { await Task.Delay(interval, stop.Token); }
                catch (OperationCanceledException) { }
            }
        }
        return reports;
    }

    /// <summary>First pause before asking a lost engine again; it doubles up to <see cref="ReconnectLongest"/>.</summary>
    public static readonly TimeSpan ReconnectFirst = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan ReconnectLongest = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Before a cycle: waits, with backoff, until the engine answers again (no cycle clears while it is gone, so no
    /// winner's launch fails for it), and after the engine was lost removes what this instance left on it — containers of
    /// executions already ended <c>HostFault</c> and repaired in their cycle (ADR 0089).
    /// </summary>
    private async Task ReconnectAsync(bool engineLost, CancellationToken ct)
    {
        var failed = await _engine.WaitUntilAvailableAsync(ReconnectFirst, ReconnectLongest, (e, pause) =>
            Logger.LogWarning("The Docker engine does not answer ({Reason}); cycles wait, next try in {Seconds:F1} s", e.Message, pause.TotalSeconds), ct);
        if (failed == 0 && !engineLost) return;
        var removed = 0;
        try
        {
            var instance = Services.GetRequiredService<SandboxOptions>().Instance;
            foreach (var container in await _engine.ListContainersAsync(DockerSandbox.ManagedBy(instance), ct))
            {
                await _engine.RemoveContainerAsync(container.Id, ct);
                removed++;
            }
        }
        catch (Exception e) when (DockerEngine.IsEngineLost(e))
        {
            // Gone again: the next cycle's reconnect tries once more.
            Logger.LogWarning("Sweep after reconnecting failed: {Error}", e.Message);
        }
        Logger.LogWarning("Reconnected to the Docker engine after {Failed} failed tries; removed {Removed} containers of executions it lost", failed, removed);
    }

    public async ValueTask DisposeAsync()
    {
        // Service leases outlive their cycles, not the host: each gets its SIGTERM and grace, and its record says so.
        try { await _app.Services.GetRequiredService<ServiceLeases>().EndAllAsync("the orchestrator stopped: the lease ended with it"); }
        catch (Exception e) when (e is DockerEngineException or InvalidOperationException or DbUpdateException)
        {
            Logger.LogError("Leases could not all be ended at stop ({Error}); the next start removes their containers", e.Message);
        }
        try { await _app.StopAsync(CancellationToken.None); }
        finally
        {
            await _app.DisposeAsync();
            _engine.Dispose();
            _lock?.Dispose();
        }
    }
}
