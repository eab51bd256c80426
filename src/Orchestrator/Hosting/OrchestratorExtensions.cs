using CyAgents.Economy.Market;
using CyAgents.Persistence;
using CyAgents.Orchestrator.Attention;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Retirement;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Sandbox.Runtimes;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Market;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CyAgents.Orchestrator.Hosting;

/// <summary>
/// Composition of the live host, beside <see cref="SystemApiExtensions.AddSystemApi"/> on the same services: the
/// <c>Live</c> options (bound once, validated at start), the clock, the engine-measured supply that the API and the cycle
/// both read, the sandbox, the workspaces, the allocation cycle and crash recovery.
/// </summary>
public static class OrchestratorExtensions
{
    /// <summary>
    /// Registers the orchestrator. <paramref name="settings"/> say where state lives and how the engine is reached; what the
    /// engine answers (its capacity, the agent image) is recorded in <see cref="EngineAtStart"/> before anything reads it.
    /// Call before <c>AddSystemApi</c>, so the API takes this host's supply and ledger.
    /// </summary>
    public static IServiceCollection AddOrchestrator(this IServiceCollection services, IConfiguration configuration, LiveSettings settings)
    {
        services.BindValidated<LiveOptions>(configuration, LiveOptions.Section, o => o.Validate());
        services.BindValidated<SandboxOptions>(configuration, SandboxOptions.Section, o => o.Validate());
        // One pricing rule for the cycles and the API's price view: Market:Pricing, bound and validated by AddSystemApi.
        services.AddSingleton(sp => (settings.Live ?? sp.GetRequiredService<IOptions<LiveOptions>>().Value) with
        {
            Pricing = sp.GetRequiredService<IOptions<PricingOptions>>().Value,
        });
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<EngineAtStart>();
        services.AddSingleton(sp => sp.GetRequiredService<EngineAtStart>().Engine);
        // The supply measured on the engine is the one the API shows and checks bids against (ADR 0044).
        services.AddSingleton(sp => new CycleSupply(sp.GetRequiredService<LiveOptions>().Capacity.SupplyFrom(
            sp.GetRequiredService<EngineAtStart>().Info.NCPU, sp.GetRequiredService<EngineAtStart>().Info.MemTotal)));
        services.AddSingleton<IExecutionTokens>(sp => new ApiExecutionTokens(sp.GetRequiredService<AgentTokenService>()));
        services.AddSingleton(sp =>
        {
            var ws = sp.GetRequiredService<IOptions<CyAgents.SystemApi.Workspaces.WorkspaceOptions>>().Value;
            return new AgentWorkspaces(settings.WorkspacesRoot, settings.WorkspaceTemplate, quota: new WorkspaceQuota(ws.QuotaMiB, ws.QuotaInodes));
        });
        services.AddSingleton<ExecutionHistory>();
        // Per-cycle housekeeping of prompts and retirement (ADRs 0135, 0136), run by the cycle before each clearing.
        services.AddSingleton<ICycleStep>(sp => new PromptExpiry(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(),
            sp.GetRequiredService<LiveOptions>().Prompts, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PromptExpiry>>()));
        services.AddSingleton<ICycleStep>(sp => new AgentRetirement(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(),
            db => sp.GetRequiredService<LedgerBinding>()(db), sp.GetRequiredService<LiveOptions>().Retirement,
            new WorkspaceArchive(sp.GetRequiredService<AgentWorkspaces>(), Path.Combine(settings.DataDirectory, "archive", "workspaces")),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AgentRetirement>>()));
        services.AddSingleton(SandboxOptionsFor(settings));
        services.AddSingleton<DockerSandbox>(sp =>
        {
            var output = sp.GetRequiredService<CyAgents.SystemApi.Events.OutputEvents>();
            return new DockerSandbox(sp.GetRequiredService<DockerEngine>(), sp.GetRequiredService<SandboxOptions>(),
                sp.GetRequiredService<ILogger<DockerSandbox>>(), sp.GetRequiredService<TimeProvider>())
            {
                OnOutput = (request, line) => output.Line(request.AgentId, request.ExecutionId, request.Cycle, line.Stream, line.Text),
            };
        });
        services.AddSingleton<ISandbox>(sp => settings.SandboxDecorator?.Invoke(sp.GetRequiredService<DockerSandbox>()) ?? sp.GetRequiredService<DockerSandbox>());
        // The runtimes an agent's manifest may name, built offline on first use and cached by content (ADR 0104).
        services.AddSingleton<IRuntimeImages>(sp => new RuntimeImages(sp.GetRequiredService<DockerEngine>(), new RuntimeImagesOptions(),
            sp.GetRequiredService<ILogger<RuntimeImages>>()));
        services.AddSingleton(sp => new AgentPrograms(sp.GetRequiredService<IRuntimeImages>(),
            async (image, ct) => await sp.GetRequiredService<DockerEngine>().InspectImageAsync(image, ct) is not null));
        // Checkpoints of system.log's chain in the database, every N lines, every interval and at each cycle's end (ADR 0131).
        services.BindValidated<CyAgents.SystemApi.Logging.AuditCheckpointOptions>(configuration, CyAgents.SystemApi.Logging.AuditCheckpointOptions.Section,
            o => o.Validate());
        services.AddSingleton(sp => new CyAgents.SystemApi.Logging.AuditCheckpoints(settings.Log, sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<CyAgents.SystemApi.Logging.AuditCheckpointOptions>>().Value));
        services.AddHostedService(sp => sp.GetRequiredService<CyAgents.SystemApi.Logging.AuditCheckpoints>());
        services.AddSingleton<ICycleStep, AuditCheckpointStep>();
        // Service agents' leases (ADR 0137): decided once each cycle has settled, ended when the host stops.
        services.AddSingleton(sp => new ServiceLeases(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(), sp.GetRequiredService<DockerSandbox>(),
            sp.GetRequiredService<ILogger<ServiceLeases>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ICycleStep>(sp => sp.GetRequiredService<ServiceLeases>());
        // Tasks: verify handed-in work and return expired rewards at the cycle's fixed points (ADR 0132).
        services.AddSingleton<ICycleStep>(sp =>
        {
            var binding = sp.GetRequiredService<LedgerBinding>();
            return new CyAgents.Orchestrator.Tasks.TaskVerification(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(), db => binding(db),
                sp.GetRequiredService<ISandbox>(), sp.GetRequiredService<IRuntimeImages>(),
                sp.GetRequiredService<IOptions<CyAgents.SystemApi.Tasks.TaskOptions>>().Value,
                sp.GetRequiredService<ILogger<CyAgents.Orchestrator.Tasks.TaskVerification>>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            var binding = sp.GetRequiredService<LedgerBinding>();
            var sandbox = sp.GetRequiredService<SandboxOptions>();
            return new AllocationCycle(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(), db => binding(db), sp.GetRequiredService<ISandbox>(),
                sp.GetRequiredService<IExecutionTokens>(), sp.GetRequiredService<AgentWorkspaces>(), sp.GetRequiredService<LiveOptions>(),
                sp.GetRequiredService<CycleSupply>().PerCycle, $"{sandbox.ContainerApiFolder}/{Path.GetFileName(settings.ApiSocket)}",
                sp.GetRequiredService<ILogger<AllocationCycle>>(), sp.GetRequiredService<TimeProvider>(), programs: sp.GetRequiredService<AgentPrograms>(),
                metrics: sp.GetRequiredService<CyAgents.SystemApi.Metrics.SystemMetrics>(),
                history: sp.GetRequiredService<ExecutionHistory>(), uids: sandbox.UidRange,
                steps: sp.GetServices<ICycleStep>().ToList());
        });
        // Template agents `run --starters N` adds to a new economy (ADR 0140), through the operator's creation path.
        services.AddSingleton(sp =>
        {
            var api = sp.GetRequiredService<IOptions<SystemApiOptions>>().Value;
            return new CyAgents.Orchestrator.Starters.StarterAgents(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(),
                sp.GetRequiredService<LedgerBinding>(), sp.GetRequiredService<CyAgents.SystemApi.Workspaces.WorkspaceTemplate>(),
                new CyAgents.SystemApi.Agents.ManifestMinimums(api.MinBidCpuMillicores, api.MinBidMemoryMiB), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            var binding = sp.GetRequiredService<LedgerBinding>();
            return new CrashRecovery(sp.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>(), db => binding(db), sp.GetRequiredService<DockerEngine>(),
                sp.GetRequiredService<IExecutionTokens>(), sp.GetRequiredService<ILogger<CrashRecovery>>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<SandboxOptions>().Instance) { LeaseGrace = sp.GetRequiredService<SandboxOptions>().StopGrace };
        });
        return services;
    }

    /// <summary>
    /// Checks the settings the live host validates at start (<c>Live</c>, <c>Sandbox</c>, <c>Market:Pricing</c>, <c>SystemApi</c>, <c>Workspaces</c>) with the same bindings and
    /// checks the composed host runs on start, but alone: so a bad setting stops the host before it contacts the engine or
    /// creates its log. Throws <see cref="OptionsValidationException"/> (or an <see cref="AggregateException"/> of them)
    /// whose failures name the keys.
    /// </summary>
    public static void ValidateConfiguration(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.BindValidated<LiveOptions>(configuration, LiveOptions.Section, o => o.Validate());
        services.BindValidated<SandboxOptions>(configuration, SandboxOptions.Section, o => o.Validate());
        services.BindValidated<PricingOptions>(configuration, PricingOptions.Section, p => p.Validate());
        services.BindValidated<CyAgents.SystemApi.Hosting.SystemApiOptions>(configuration, CyAgents.SystemApi.Hosting.SystemApiOptions.Section, o => o.Validate());
        services.BindValidated<CyAgents.SystemApi.Workspaces.WorkspaceOptions>(configuration, CyAgents.SystemApi.Workspaces.WorkspaceOptions.Section, o => o.Validate());
        services.BindValidated<CyAgents.SystemApi.Workspaces.History.HistoryOptions>(configuration,
            CyAgents.SystemApi.Workspaces.History.HistoryOptions.Section, h => h.Validate());
        services.BindValidated<CyAgents.SystemApi.Tasks.TaskOptions>(configuration, CyAgents.SystemApi.Tasks.TaskOptions.Section, t => t.Validate());
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    /// <summary>The sandbox's options; the image is filled in once it is built.</summary>
    private static Func<IServiceProvider, SandboxOptions> SandboxOptionsFor(LiveSettings settings) => sp =>
    {
        // Limits (output budget, grace, ulimits, ...) come from the Sandbox section; where things are, from the settings.
        var options = sp.GetRequiredService<IOptions<SandboxOptions>>().Value with
        {
            Image = sp.GetRequiredService<EngineAtStart>().Image,
            ApiSocketFolder = Path.GetDirectoryName(Path.GetFullPath(settings.ApiSocket))!,
            DebugAgentId = settings.DebugAgentId,
            Instance = SandboxOptions.InstanceOf(settings.Database),
        };
        return settings.DebuggerFolder is null ? options : options with { DebuggerFolder = settings.DebuggerFolder };
    };

    private sealed class ApiExecutionTokens(AgentTokenService service) : IExecutionTokens
    {
        public async Task<string> IssueAsync(string agentId, string executionId, long cycle, CancellationToken ct) =>
            (await service.IssueAsync(agentId, executionId, cycle, ct)).Token;

        public Task RevokeAsync(string executionId, CancellationToken ct) => service.RevokeExecutionAsync(executionId, ct);
    }
}

/// <summary>
/// What the engine answered when the live host started. The host fills it once, after the options were validated and before
/// it starts; the services that depend on the engine (supply, sandbox, cycle) are resolved only after that.
/// </summary>
public sealed class EngineAtStart
{
    private DockerEngine? _engine;
    private EngineInfo? _info;
    private string? _image;

    /// <summary>The engine client.</summary>
    public DockerEngine Engine => _engine ?? throw NotYet();
    /// <summary>The engine's CPUs and memory.</summary>
    public EngineInfo Info => _info ?? throw NotYet();
    /// <summary>The agent image tag.</summary>
    public string Image => _image ?? throw NotYet();

    /// <summary>Records the answers; once.</summary>
    public void Record(DockerEngine engine, EngineInfo info, string image)
    {
        if (_engine is not null) throw new InvalidOperationException("the engine was recorded already");
        (_engine, _info, _image) = (engine, info, image);
    }

    private static InvalidOperationException NotYet() => new("the engine is read before the live host contacted it");
}
