using CyAgents.Economy.Ledger;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Starters;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Starters;

public sealed class StarterAgentsTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-starters-").FullName;
    private readonly string _template = Path.Combine(AgentImage.FindSourceRoot(), "workspaces", "python-agent");
    private IDbContextFactory<CyAgentsDbContext> _databases = null!;
    private StarterAgents _starters = null!;

    public async Task InitializeAsync()
    {
        var database = DatabaseOptions.ForSqliteFile(Path.Combine(_root, "cyagents.db"));
        await DatabaseSetup.EnsureCreatedAsync(database);
        _databases = new Factory(database.BuildOptions());
        var workspaces = new WorkspaceTemplate(Microsoft.Extensions.Options.Options.Create(new WorkspaceOptions
        {
            Root = Path.Combine(_root, "workspaces"), Template = _template, Templates = Path.GetDirectoryName(_template)!,
        }));
        Directory.CreateDirectory(Path.Combine(_root, "workspaces"));
        _starters = new StarterAgents(_databases, db => new EfLedger(db), workspaces, ManifestMinimums.Default, TimeProvider.System);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_new_economy_gets_the_named_starters_each_endowed_from_the_treasury_with_the_templates_manifest_and_code()
    {
        var outcome = await _starters.EnsureAsync(_template, 3, 5000, default);

        outcome.Created.Select(a => a.Name).ShouldBe(["python-agent-1", "python-agent-2", "python-agent-3"]);
        (outcome.Existing, outcome.NotCreatedBecause).ShouldBe((0, null));
        await using var db = await _databases.CreateDbContextAsync();
        var ledger = new EfLedger(db);
        foreach (var agent in await db.Set<AgentRecord>().ToListAsync())
        {
            (await ledger.GetBalanceAsync(AccountIds.ForAgent(agent.Id))).Posted.ShouldBe(5000);
            agent.ManifestJson.ShouldNotBeNull().ShouldContain("\"python\"");
            (agent.ParentId, agent.Generation, agent.Status).ShouldBe((null, 0, AgentStatus.Active));
            File.Exists(Path.Combine(_root, "workspaces", agent.Id, "agent.py")).ShouldBeTrue();
        }
        (await ledger.CheckConservationAsync(default)).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_second_start_adds_nobody_and_a_start_that_stopped_half_way_is_completed()
    {
        await _starters.EnsureAsync(_template, 2, 5000, default);

        var again = await _starters.EnsureAsync(_template, 2, 5000, default);
        var more = await _starters.EnsureAsync(_template, 3, 5000, default);

        (again.Created.Count, again.Existing).ShouldBe((0, 2));
        more.Created.ShouldHaveSingleItem().Name.ShouldBe("python-agent-3");
        await using var db = await _databases.CreateDbContextAsync();
        (await db.Set<AgentRecord>().CountAsync()).ShouldBe(3);
    }

    [Fact]
    public async Task An_economy_that_has_run_a_cycle_is_given_no_starters_and_says_why()
    {
        await using (var db = await _databases.CreateDbContextAsync())
        {
            db.Add(new CycleRecord { Number = 1, Status = CycleStatus.Completed, Mechanism = "critical-value", StartedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        }

        var outcome = await _starters.EnsureAsync(_template, 3, 5000, default);

        outcome.Created.ShouldBeEmpty();
        outcome.NotCreatedBecause.ShouldNotBeNull().ShouldContain("has run cycles already");
        await using var check = await _databases.CreateDbContextAsync();
        (await check.Set<AgentRecord>().CountAsync()).ShouldBe(0);
    }

    private sealed class Factory(DbContextOptions<CyAgentsDbContext> options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options);
    }
}
