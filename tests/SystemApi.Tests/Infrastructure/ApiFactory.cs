using System.Net.Http.Headers;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Identity;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests.Infrastructure;

/// <summary>
/// The API in-process over a real SQLite file in a fresh temp folder, with a workspace template, a fixed operator
/// token and its own system.log. Settings can be overridden per test.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<Program>
{
    public const string OperatorSecret = "operator-secret-for-tests-0123456789";
    private readonly Dictionary<string, string?> _settings;

    public ApiFactory(IDictionary<string, string?>? settings = null)
    {
        Root = Directory.CreateTempSubdirectory("cyagents-api-").FullName;
        DatabasePath = Path.Combine(Root, "cyagents.db");
        LogPath = Path.Combine(Root, "logs", "system.log");
        var template = Directory.CreateDirectory(Path.Combine(Root, "workspaces", "genesis"));
        File.WriteAllText(Path.Combine(template.FullName, "README.md"), "genesis template");
        Directory.CreateDirectory(Path.Combine(template.FullName, "notes"));
        File.WriteAllText(Path.Combine(template.FullName, "notes", "plan.txt"), "plan");
        _settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={DatabasePath}",
            ["SystemApi:SocketPath"] = "",
            ["SystemApi:Urls"] = "",
            ["SystemApi:OperatorToken"] = OperatorSecret,
            ["SystemApi:OperatorTokenFile"] = Path.Combine(Root, "operator.token"),
            ["SystemApi:RateLimitPerSecond"] = "100000",
            ["SystemApi:RateLimitBurst"] = "100000",
            ["SystemApi:AnonymousRateLimitPerSecond"] = "100000",
            ["SystemApi:AnonymousRateLimitBurst"] = "100000",
            ["SystemApi:MarketCacheMilliseconds"] = "0",
            ["Workspaces:Root"] = Path.Combine(Root, "workspaces"),
            ["Workspaces:Template"] = template.FullName,
            ["Workspaces:Templates"] = Path.Combine(Root, "workspaces"),
            ["History:Root"] = Path.Combine(Root, "history"),
            ["SystemLog:Path"] = LogPath,
            ["SystemLog:Console"] = "false",
            ["Spawn:Fee"] = "10",
            ["Spawn:MaxGeneration"] = "3",
            ["Spawn:MaxChildrenPerCycle"] = "2",
        };
        if (settings is not null)
            foreach (var (k, v) in settings) _settings[k] = v;
    }

    public string Root { get; }
    public string DatabasePath { get; }
    public string LogPath { get; }
    public string WorkspacesRoot => Path.Combine(Root, "workspaces");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
    }

    /// <summary>Starts the host (schema, accounts) if not yet started.</summary>
    public ApiFactory Started()
    {
        _ = Server;
        return this;
    }

    public T Get<T>() where T : notnull => Started().Services.GetRequiredService<T>();

    public async Task<CyAgentsDbContext> DbAsync() =>
        await Get<IDbContextFactory<CyAgentsDbContext>>().CreateDbContextAsync();

    public async Task<ILedger> LedgerAsync() => Get<LedgerBinding>()(await DbAsync());

    /// <summary>Creates an agent (root unless <paramref name="parentId"/>) with an account endowed from the treasury.</summary>
    public async Task SeedAgentAsync(string agentId, long credits, string? parentId = null, int generation = 0)
    {
        await using var db = await DbAsync();
        var ledger = Get<LedgerBinding>()(db);
        db.Add(new AgentRecord
        {
            Id = agentId, Name = agentId, ParentId = parentId, RootId = parentId is null ? agentId : (await db.Set<AgentRecord>().FindAsync(parentId))!.RootId,
            Generation = generation, CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
        await ledger.OpenAccountAsync(AccountIds.ForAgent(agentId), AccountKind.Agent);
        if (credits > 0)
            await ledger.TransferAsync(new TransferRequest($"seed:{agentId}", AccountIds.Treasury, AccountIds.ForAgent(agentId), credits,
                TransferKind.Endowment));
    }

    /// <summary>Seeds an agent and issues it a token for a running execution.</summary>
    public async Task<string> AgentTokenAsync(string agentId, long credits = 0, string? executionId = null, long cycle = 1)
    {
        await SeedAgentAsync(agentId, credits);
        return await IssueAsync(agentId, executionId ?? $"exe-{agentId}", cycle);
    }

    /// <summary>
    /// Seeds an agent with a running execution whose won bundle holds <paramref name="attention"/> basis points of the
    /// human (the share its prompts are paid from, ADR 0135) and issues the execution's token.
    /// </summary>
    public async Task<string> AskerTokenAsync(string agentId, long credits = 0, long attention = 10_000, string? executionId = null, long cycle = 1)
    {
        await SeedAgentAsync(agentId, credits);
        var execution = executionId ?? $"exe-{agentId}";
        await SeedExecutionAsync(agentId, execution, cycle, attention);
        return await IssueAsync(agentId, execution, cycle);
    }

    /// <summary>A running execution of <paramref name="agentId"/> that won <paramref name="attention"/> basis points (and small caps).</summary>
    public async Task SeedExecutionAsync(string agentId, string executionId, long cycle, long attention)
    {
        await using var db = await DbAsync();
        db.Add(new ExecutionRecord
        {
            Id = executionId, AgentId = agentId, Cycle = cycle, Status = ExecutionStatus.Running,
            Granted = CyAgents.Economy.Resources.ResourceBundle.Create(250, 96, 0, attention),
        });
        await db.SaveChangesAsync();
    }

    public async Task<string> IssueAsync(string agentId, string executionId, long cycle = 1) =>
        (await Get<AgentTokenService>().IssueAsync(agentId, executionId, cycle)).Token;

    public HttpClient ClientWith(string? token)
    {
        var client = Started().CreateClient();
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public SystemApiClient TypedClient(string? token) => new(ClientWith(null), token);

    public async Task<long> AvailableAsync(string agentId) =>
        (await (await LedgerAsync()).GetBalanceAsync(AccountIds.ForAgent(agentId))).Available;

    /// <summary>Everything a refused request must leave untouched: balances, transfers and row counts.</summary>
    public async Task<StateSnapshot> SnapshotAsync() => await StateSnapshot.TakeAsync(this);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try { if (Environment.GetEnvironmentVariable("CYAGENTS_KEEP_TEST_FILES") is null) Directory.Delete(Root, recursive: true); }
            catch (IOException) { /* a log file still open on slow shutdown; the temp folder is left behind */ }
        }
    }
}
