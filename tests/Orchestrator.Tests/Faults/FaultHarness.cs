using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Tests.Cycles;
using CyAgents.Orchestrator.Workspaces;
using CyAgents.Persistence;
using CyAgents.Persistence.Bids;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Faults;

/// <summary>
/// The live cycle in-process over a real SQLite file and the EF ledger, with a fake sandbox whose "agent" does what a
/// running agent's API calls do, each as the API's one unit of work: an LLM call (token charge + usage), sometimes a
/// spawn (child, account, fee, endowment), sometimes a payout (human reward), and its next bid. One seeded scenario runs
/// many crash-restart rounds on one database (ADR 0086).
/// </summary>
public sealed class FaultHarness : IAsyncDisposable
{
    /// <summary>Every stage a crash is injected at; "write" is the N-th database or ledger write, wherever it falls.</summary>
    public static readonly string[] Points =
    [
        "before-freeze", "after-freeze", "mid-settlement", "after-settlement", "after-launch", "during-llm-call", "during-spawn",
        "during-payout", "during-bid", "collecting", "after-collect", "before-complete", "write",
    ];

    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-faults-").FullName;
    private readonly DbContextOptions<CyAgentsDbContext> _options;
    private readonly AgentWorkspaces _workspaces;
    private readonly LiveOptions _live = new() { ExecutionWindow = TimeSpan.FromSeconds(5) };
    private readonly int _seed;

    public FaultHarness(int seed)
    {
        _seed = seed;
        DatabasePath = Path.Combine(_root, "cyagents.db");
        var database = DatabaseOptions.ForSqliteFile(DatabasePath);
        DatabaseSetup.EnsureCreatedAsync(database).GetAwaiter().GetResult();
        var builder = new DbContextOptionsBuilder<CyAgentsDbContext>();
        database.Apply(builder);
        builder.AddInterceptors(Injector.Interceptors);
        _options = builder.Options;
        _workspaces = new AgentWorkspaces(Path.Combine(_root, "workspaces"), Path.Combine(_root, "template"));
        Directory.CreateDirectory(_workspaces.Template);
        File.WriteAllText(Path.Combine(_workspaces.Template, "strategy.json"), "{}");
    }

    public string DatabasePath { get; }
    public FaultInjector Injector { get; } = new();
    public FakeTokens Tokens { get; } = new();
    /// <summary>Crash points that fired, with how often.</summary>
    public Dictionary<string, int> Fired { get; } = [];
    public bool BrokenRecovery { get; init; }

    private IDbContextFactory<CyAgentsDbContext> Databases => new Factory(_options);
    private ILedger LedgerFor(CyAgentsDbContext db) => new FaultingLedger(new EfLedger(db), Injector);

    /// <summary>A fresh process's cycle on the same database file.</summary>
    public AllocationCycle NewCycle() => new(Databases, LedgerFor, new HarnessAgent(this), Tokens, _workspaces, _live,
        ResourceBundle.Create(1500, 4096, 1000, 10_000), "/run/cyagents/api.sock", NullLogger<AllocationCycle>.Instance, faults: Injector);

    public CrashRecovery NewRecovery() => new(Databases, LedgerFor, null, Tokens, NullLogger<CrashRecovery>.Instance)
        { SkipBidReopeningForTests = BrokenRecovery };

    /// <summary>Starts the economy: Genesis, as the first start of <c>run</c> does.</summary>
    public Task BootstrapAsync() => NewCycle().BootstrapAsync(default);

    /// <summary>
    /// One round: arm a crash at <paramref name="point"/>, run cycles until it fires (at most a few), then restart: revive,
    /// drop pooled connections, recover. Returns whether the crash fired.
    /// </summary>
    public async Task<bool> CrashAndRestartAsync(string point, Random random)
    {
        if (point == "write") Injector.ArmAtWrite(random.Next(1, 80));
        else Injector.ArmAtPoint(point, random.Next(1, 3));
        var cycle = NewCycle();
        for (var i = 0; i < 4 && !Injector.Dead; i++)
        {
            try { await cycle.RunAsync(await cycle.NextNumberAsync(default), default); }
            catch (Exception) when (Injector.Dead) { }
        }
        var fired = Injector.FiredAt;
        if (fired is not null)
        {
            var key = fired.StartsWith("write:", StringComparison.Ordinal) ? "write" : fired;
            Fired[key] = Fired.GetValueOrDefault(key) + 1;
        }
        Injector.Revive();
        SqliteConnection.ClearAllPools();
        await NewRecovery().RepairAsync(default);
        return fired is not null;
    }

    /// <summary>Runs <paramref name="count"/> cycles with no fault; returns how many bids each cleared.</summary>
    public async Task<IReadOnlyList<int>> RunCleanCyclesAsync(int count)
    {
        Injector.Disarm();
        var cycle = NewCycle();
        var bids = new List<int>();
        for (var i = 0; i < count; i++) bids.Add((await cycle.RunAsync(await cycle.NextNumberAsync(default), default)).Bids);
        return bids;
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        await Task.Yield();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private sealed class Factory(DbContextOptions<CyAgentsDbContext> options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options);
    }

    /// <summary>The agent in the fake sandbox; its choices come from the scenario seed and the execution id, so a run replays.</summary>
    private sealed class HarnessAgent(FaultHarness harness) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            var injector = harness.Injector;
            var random = new Random(harness._seed ^ StableHash(request.ExecutionId));
            injector.Point("after-launch");
            var started = DateTimeOffset.UtcNow;
            await UnitAsync(async (db, ledger) =>
            {
                var account = AccountIds.ForAgent(request.AgentId);
                var tokens = random.Next(1, 40);
                if ((await ledger.GetBalanceAsync(account)).Available >= tokens)
                    await ledger.TransferAsync(new TransferRequest($"llm:{request.ExecutionId}", account, AccountIds.Treasury, tokens, TransferKind.TokenCharge,
                        request.Cycle, "tokens beyond the bundle"));
                injector.Point("during-llm-call");
                (await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == request.ExecutionId)).TokensUsed += tokens;
            });
            if (random.NextDouble() < 0.35)
            {
                await UnitAsync(async (db, ledger) =>
                {
                    if (await db.Set<AgentRecord>().CountAsync() >= 12) return;
                    var parent = AccountIds.ForAgent(request.AgentId);
                    if ((await ledger.GetBalanceAsync(parent)).Available < 600) return;
                    var child = $"k{StableHash(request.ExecutionId) & 0xffffff:x6}";
                    db.Add(new AgentRecord { Id = child, Name = child, ParentId = request.AgentId, RootId = request.AgentId, Generation = 1,
                        CreatedCycle = request.Cycle, CreatedAt = DateTimeOffset.UtcNow });
                    await ledger.OpenAccountAsync(AccountIds.ForAgent(child), AccountKind.Agent);
                    await ledger.TransferAsync(new TransferRequest($"spawn:{child}:fee", parent, AccountIds.Treasury, 10, TransferKind.SpawnFee, request.Cycle));
                    injector.Point("during-spawn");
                    await ledger.TransferAsync(new TransferRequest($"spawn:{child}:endowment", parent, AccountIds.ForAgent(child), 500,
                        TransferKind.SpawnTransfer, request.Cycle));
                });
            }
            if (random.NextDouble() < 0.4)
            {
                await UnitAsync(async (_, ledger) =>
                {
                    await ledger.TransferAsync(new TransferRequest($"reward:{request.ExecutionId}", AccountIds.Treasury, AccountIds.ForAgent(request.AgentId),
                        random.Next(5, 50), TransferKind.HumanReward, request.Cycle, "prompt answered"));
                    injector.Point("during-payout");
                });
            }
            await UnitAsync(async (db, ledger) =>
            {
                var amount = random.Next(20, 90);
                if ((await ledger.GetBalanceAsync(AccountIds.ForAgent(request.AgentId))).Available < amount) return;
                await new BidBook(db, ledger).PlaceAsync(new BidPlacement($"n{(uint)StableHash(request.ExecutionId):x8}-{request.Cycle + 1}", request.AgentId, request.Cycle + 1,
                    ResourceBundle.Create(random.Next(100, 400), random.Next(32, 200)), amount, DateTimeOffset.UtcNow), default);
                injector.Point("during-bid");
            });
            injector.Point("collecting");
            return new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "fake", started, DateTimeOffset.UtcNow, null, []);
        }

        /// <summary>One API request's unit of work: one transaction on its own context, committed at the end.</summary>
        private async Task UnitAsync(Func<CyAgentsDbContext, ILedger, Task> work)
        {
            await using var db = await harness.Databases.CreateDbContextAsync();
            await using var tx = await db.Database.BeginTransactionAsync();
            await work(db, harness.LedgerFor(db));
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }
    }

    internal static int StableHash(string s)
    {
        var h = 2166136261u;
        foreach (var c in s) h = (h ^ c) * 16777619u;
        return (int)h;
    }
}
