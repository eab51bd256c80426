using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Market;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CyAgents.Orchestrator.Tests.Hosting;

public sealed class CompositionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-compose-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private ServiceProvider Compose(IDictionary<string, string?>? keys = null)
    {
        var database = Path.Combine(_root, "cyagents.db");
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={database}",
            ["Live:Capacity:ReserveMillicores"] = "500",
            ["Live:Capacity:ReserveMemoryMiB"] = "1024",
            // Would the API take its supply from configuration, it would show this instead of the engine's.
            ["Market:Supply:Cpu"] = "1",
        }.Concat(keys ?? new Dictionary<string, string?>())).Build();
        var settings = new LiveSettings { DataDirectory = _root, WorkspacesRoot = Path.Combine(_root, "ws"), WorkspaceTemplate = Path.Combine(_root, "t") };
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IConfiguration>(config);
        services.AddOrchestrator(config, settings);
        services.AddSystemApi(config);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task The_api_and_the_cycle_read_the_one_supply_measured_on_the_engine()
    {
        await using var services = Compose();
        using var engine = new DockerEngine("/nonexistent/docker.sock");
        services.GetRequiredService<EngineAtStart>().Record(engine, new EngineInfo(4, 8L * 1024 * 1024 * 1024, null, null), "cyagents-agent:test");
        await DatabaseSetup.EnsureCreatedAsync(services.GetRequiredService<IOptions<DatabaseOptions>>().Value);

        var supply = services.GetRequiredService<CycleSupply>();
        var cycle = services.GetRequiredService<AllocationCycle>();
        var market = services.GetRequiredService<MarketView>();

        supply.PerCycle.ShouldBe(ResourceBundle.Create(3500, 7168, 100_000, 10_000)); // 4 CPUs, 8 GiB minus the reserve
        services.GetRequiredService<CycleSupply>().ShouldBeSameAs(supply);
        cycle.Supply.ShouldBe(supply.PerCycle);
        (await market.CachedSupplyAsync(CancellationToken.None)).ShouldBe(supply.PerCycle);
    }

    [Fact]
    public async Task The_cycle_prices_with_the_apis_pricing_rule()
    {
        await using var services = Compose(new Dictionary<string, string?> { ["Market:Pricing:Eta"] = "0.25", ["Live:Pricing:Eta"] = "0.75" });

        services.GetRequiredService<LiveOptions>().Pricing.Eta.ShouldBe(0.25);
    }

    [Fact]
    public void Validation_names_every_bad_key_with_its_section()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Market:Pricing:Eta"] = "-1",
            ["Live:ExecutionWindow"] = "00:00:00",
        }).Build();

        var e = Should.Throw<Exception>(() => OrchestratorExtensions.ValidateConfiguration(config));

        var failures = e is AggregateException a ? a.InnerExceptions.SelectMany(x => ((OptionsValidationException)x).Failures)
            : ((OptionsValidationException)e).Failures;
        failures.ShouldContain(f => f.StartsWith("Market:Pricing:Eta "));
        failures.ShouldContain(f => f.StartsWith("Live:ExecutionWindow "));
    }

    [Fact]
    public void Valid_defaults_pass()
    {
        OrchestratorExtensions.ValidateConfiguration(new ConfigurationBuilder().Build());
    }

    [Fact]
    public async Task The_cycle_runs_prompt_expiry_and_retirement_with_their_live_settings()
    {
        await using var services = Compose(new Dictionary<string, string?>
        {
            ["Live:Prompts:ExpireAfterCycles"] = "4", ["Live:Retirement:IdleCycles"] = "5", ["Live:Retirement:DustCredits"] = "2",
        });
        var live = services.GetRequiredService<LiveOptions>();
        // Other steps (leases) need the engine's answers; these two do not, but all steps are resolved together.
        using var engine = new DockerEngine("/nonexistent/docker.sock");
        services.GetRequiredService<EngineAtStart>().Record(engine, new EngineInfo(4, 8L * 1024 * 1024 * 1024, null, null), "cyagents-agent:test");

        var steps = services.GetServices<ICycleStep>().Select(s => s.Name).ToList();
        steps.ShouldContain("prompt-expiry");
        steps.ShouldContain("retirement");
        live.Prompts.ExpireAfterCycles.ShouldBe(4);
        live.Retirement.ShouldBe(new CyAgents.Orchestrator.Retirement.RetirementOptions { IdleCycles = 5, DustCredits = 2 });
    }

    [Fact]
    public void Bad_prompt_expiry_and_retirement_settings_stop_the_host_naming_their_keys()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Live:Prompts:ExpireAfterCycles"] = "0", ["Live:Retirement:IdleCycles"] = "-1", ["SystemApi:AttentionPerPrompt"] = "0",
        }).Build();

        var e = Should.Throw<Exception>(() => OrchestratorExtensions.ValidateConfiguration(config));

        var failures = e is AggregateException a ? a.InnerExceptions.SelectMany(x => ((OptionsValidationException)x).Failures)
            : ((OptionsValidationException)e).Failures;
        failures.ShouldContain(f => f.StartsWith("Live:Prompts:ExpireAfterCycles "));
        failures.ShouldContain(f => f.StartsWith("Live:Retirement:IdleCycles "));
        failures.ShouldContain(f => f.StartsWith("SystemApi:AttentionPerPrompt "));
    }
}
