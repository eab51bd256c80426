using CyAgents.Persistence.Bids;
using System.Collections.Concurrent;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>A database file, a ledger, workspaces and a fake sandbox: the cycle's world without Docker.</summary>
public sealed class CycleWorld : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-cycle-").FullName;

    public CycleWorld(LiveOptions? options = null, ResourceBundle? supply = null, Microsoft.Extensions.Logging.ILogger<AllocationCycle>? logger = null,
        AgentPrograms? programs = null, SystemApi.Workspaces.History.HistoryOptions? history = null)
    {
        Options = options ?? new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(5) };
        var database = DatabaseOptions.ForSqliteFile(Path.Combine(_root, "cyagents.db"));
        DatabaseSetup.EnsureCreatedAsync(database).GetAwaiter().GetResult();
        Databases = new Factory(database.BuildOptions());
        Workspaces = new AgentWorkspaces(Path.Combine(_root, "workspaces"), Path.Combine(_root, "template"));
        Directory.CreateDirectory(Workspaces.Template);
        File.WriteAllText(Path.Combine(Workspaces.Template, "strategy.json"), "{}");
        if (history is not null)
        {
            history.Root = Path.Combine(_root, "data", "history");
            History = new SystemApi.Workspaces.History.WorkspaceHistory(history);
            HistoryLog = new ListLogger<ExecutionHistory>();
        }
        Cycle = new AllocationCycle(Databases, _ => Ledger, Sandbox, Tokens, Workspaces, Options,
            supply ?? ResourceBundle.Create(1500, 4096, 1000, 10_000), "/run/cyagents/api.sock", logger ?? NullLogger<AllocationCycle>.Instance, programs: programs,
            history: History is null ? null : new ExecutionHistory(History, Workspaces, Databases, HistoryLog!));
    }

    public InMemoryLedger Ledger { get; } = new();
    public FakeSandbox Sandbox { get; } = new();
    public FakeTokens Tokens { get; } = new();
    public LiveOptions Options { get; }
    public IDbContextFactory<CyAgentsDbContext> Databases { get; }
    public AgentWorkspaces Workspaces { get; }
    public AllocationCycle Cycle { get; }
    /// <summary>The workspace history the cycle records into, when the world was made with one.</summary>
    public SystemApi.Workspaces.History.WorkspaceHistory? History { get; }
    /// <summary>What the history recorder logged.</summary>
    public ListLogger<ExecutionHistory>? HistoryLog { get; }

    public CrashRecovery Recovery() => new(Databases, _ => Ledger, null, Tokens, NullLogger<CrashRecovery>.Instance);

    /// <summary>Creates an agent with credits, as spawning through the API would (with a stored manifest and a parent when given).</summary>
    public async Task AddAgentAsync(string id, long credits, string? manifestJson = null, string? parentId = null, long createdCycle = 0)
    {
        await Ledger.OpenAccountAsync(AccountIds.ForAgent(id), AccountKind.Agent);
        await Ledger.TransferAsync(new TransferRequest($"{id}:endowment", AccountIds.Treasury, AccountIds.ForAgent(id), credits, TransferKind.Endowment));
        await using var db = await Databases.CreateDbContextAsync();
        db.Add(new AgentRecord { Id = id, Name = id, RootId = parentId ?? id, ParentId = parentId, CreatedCycle = createdCycle, CreatedAt = DateTimeOffset.UtcNow, ManifestJson = manifestJson });
        await db.SaveChangesAsync();
    }

    /// <summary>Places a bid with its escrow through the bid book, as the API's bid endpoint does.</summary>
    public async Task<string> BidAsync(string agentId, long cycle, ResourceBundle bundle, long amount, string? bidId = null)
    {
        var id = bidId ?? $"{agentId}-{Guid.NewGuid():N}"[..24];
        await using var db = await Databases.CreateDbContextAsync();
        await new BidBook(db, Ledger).PlaceAsync(new BidPlacement(id, agentId, cycle, bundle, amount, DateTimeOffset.UtcNow), default);
        await db.SaveChangesAsync();
        return id;
    }

    public async Task<T> QueryAsync<T>(Func<CyAgentsDbContext, Task<T>> query)
    {
        await using var db = await Databases.CreateDbContextAsync();
        return await query(db);
    }

    public async ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await Task.Yield();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private sealed class Factory(DbContextOptions<CyAgentsDbContext> options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options);
    }
}

/// <summary>Runs nothing; records requests and lets a test decide the outcome (and act as the agent would).</summary>
public sealed class FakeSandbox : ISandbox
{
    public ConcurrentBag<ExecutionRequest> Requests { get; } = [];
    public Func<ExecutionRequest, Task<ExecutionOutcome>>? Behaviour { get; set; }

    public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
    {
        Requests.Add(request);
        if (Behaviour is not null) return await Behaviour(request);
        var now = DateTimeOffset.UtcNow;
        return new ExecutionOutcome(Persistence.Records.ExecutionStatus.Succeeded, 0, "fake", now, now, null, []);
    }
}

public sealed class FakeTokens : IExecutionTokens
{
    public ConcurrentDictionary<string, string> Live { get; } = new();
    public ConcurrentBag<string> Revoked { get; } = [];

    public Task<string> IssueAsync(string agentId, string executionId, long cycle, CancellationToken ct)
    {
        var token = Guid.NewGuid().ToString("N");
        Live[executionId] = token;
        return Task.FromResult(token);
    }

    public Task RevokeAsync(string executionId, CancellationToken ct)
    {
        Live.TryRemove(executionId, out _);
        Revoked.Add(executionId);
        return Task.CompletedTask;
    }
}

/// <summary>Keeps every log line, for tests that assert what was logged.</summary>
public sealed class ListLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
{
    public ConcurrentQueue<(Microsoft.Extensions.Logging.LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
        Exception? exception, Func<TState, Exception?, string> formatter) => Lines.Enqueue((logLevel, formatter(state, exception)));
}
