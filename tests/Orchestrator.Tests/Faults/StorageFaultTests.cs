using System.Diagnostics;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
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
/// Storage fails under the live cycle (issue 15 item 4, ADR 0087): the data folder on a small loop-mounted ext4 file system
/// that is filled or remounted read-only. The refused write stops the cycle with one classified reason, the books stay
/// whole, and once the cause is gone a restart's recovery and the next cycles carry on.
/// </summary>
[Collection(LoopMountCollection.Name)]
public sealed class StorageFaultTests
{
    private const string Genesis = "genesis-0";

    [Fact]
    public async Task A_full_data_folder_stops_the_cycle_cleanly_and_the_economy_resumes_once_space_is_freed()
    {
        await using var world = await StorageWorld.MountAsync();
        await world.BootstrapAsync();
        (await world.RunCyclesAsync(2)).ShouldBe([1, 1]);

        var filler = world.FillDisk();
        var failure = await Should.ThrowAsync<Exception>(() => world.RunCyclesAsync(1));

        StorageFailedException.From(failure).ShouldNotBeNull().Message.ShouldContain("full");
        (await world.CyclesAsync()).ShouldBe(2, "the refused cycle left no record");
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();

        File.Delete(filler);
        await world.NewRecovery().RepairAsync(default);
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();
        (await world.RunCyclesAsync(3)).ShouldBe([1, 1, 1], "Genesis's bid clears again in every later cycle");
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_disk_that_fills_while_an_agent_runs_stops_the_cycle_and_recovery_refunds_and_re_enters_the_agent()
    {
        await using var world = await StorageWorld.MountAsync();
        await world.BootstrapAsync();
        (await world.RunCyclesAsync(1)).ShouldBe([1]);
        string? filler = null;
        world.DuringRun = () => filler = world.FillDisk();

        var failure = await Should.ThrowAsync<Exception>(() => world.RunCyclesAsync(1));

        StorageFailedException.From(failure).ShouldNotBeNull().Message.ShouldContain("full");
        world.DuringRun = null;
        File.Delete(filler.ShouldNotBeNull());
        var recovered = await world.NewRecovery().RepairAsync(default);
        recovered.CyclesInterrupted.ShouldBe([2L]);
        recovered.HostFaults.ShouldHaveSingleItem().AgentId.ShouldBe(Genesis);
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();
        (await world.RunCyclesAsync(3)).ShouldBe([1, 1, 1], "the re-entry bid and then Genesis's own bids clear");
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_read_only_data_folder_stops_the_cycle_cleanly_and_the_economy_resumes_once_it_is_writable()
    {
        await using var world = await StorageWorld.MountAsync();
        await world.BootstrapAsync();
        (await world.RunCyclesAsync(1)).ShouldBe([1]);

        world.Remount("ro");
        var failure = await Should.ThrowAsync<Exception>(() => world.RunCyclesAsync(1));

        StorageFailedException.From(failure).ShouldNotBeNull().Message.ShouldContain("read-only");
        world.Remount("rw");
        (await world.CyclesAsync()).ShouldBe(1);
        await world.NewRecovery().RepairAsync(default);
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();
        (await world.RunCyclesAsync(2)).ShouldBe([1, 1]);
        (await LedgerAudit.RunAsync(world.DatabasePath)).ShouldBeEmpty();
    }

    [Fact]
    public void An_exhausted_disk_and_a_locked_database_are_described_in_words_an_operator_can_act_on()
    {
        StorageFailedException.From(new DbUpdateException("x", new SqliteException("database or disk is full", 13)))!.Message
            .ShouldStartWith("the disk holding the database is full");
        StorageFailedException.From(new SqliteException("database is locked", 5))!.Message.ShouldStartWith("the database is locked by another process");
        StorageFailedException.From(new AggregateException(new IOException("No space left on device", 28)))!.Message
            .ShouldStartWith("the disk holding the data folder is full");
        StorageFailedException.From(new InvalidOperationException("something else")).ShouldBeNull();
        StorageFailedException.From(new SqliteException("constraint", 19)).ShouldBeNull();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopMountCollection
{
    public const string Name = "loop-mounted data folder";
}

/// <summary>
/// The cycle's world (real SQLite + EF ledger, fake sandbox whose agent bids for the next cycle as Genesis does) with its
/// data folder on a 64 MiB loop-mounted ext4 file system. Mounting needs root; a machine that cannot mount fails the test.
/// </summary>
internal sealed class StorageWorld : IAsyncDisposable
{
    private readonly string _root;
    private readonly string _mount;
    private readonly DbContextOptions<CyAgentsDbContext> _options;
    private readonly AgentWorkspaces _workspaces;
    private readonly LiveOptions _live = new() { ExecutionWindow = TimeSpan.FromSeconds(5) };

    private StorageWorld(string root, string mount)
    {
        _root = root;
        _mount = mount;
        DatabasePath = Path.Combine(mount, "cyagents.db");
        var database = DatabaseOptions.ForSqliteFile(DatabasePath);
        DatabaseSetup.EnsureCreatedAsync(database).GetAwaiter().GetResult();
        _options = database.BuildOptions();
        _workspaces = new AgentWorkspaces(Path.Combine(mount, "workspaces"), Path.Combine(mount, "template"));
        Directory.CreateDirectory(_workspaces.Template);
        File.WriteAllText(Path.Combine(_workspaces.Template, "strategy.json"), "{}");
    }

    public string DatabasePath { get; }
    public FakeTokens Tokens { get; } = new();
    /// <summary>Runs inside the agent's execution, before it bids.</summary>
    public Action? DuringRun { get; set; }

    public static async Task<StorageWorld> MountAsync()
    {
        var root = Directory.CreateTempSubdirectory("cyagents-storage-").FullName;
        var image = Path.Combine(root, "data.img");
        var mount = Path.Combine(root, "data");
        Directory.CreateDirectory(mount);
        try
        {
            await using (var file = File.Create(image)) file.SetLength(64L << 20);
            // -m 0: no blocks reserved for root, so "full" means full for the root-run orchestrator too.
            await ShellAsync("mkfs.ext4", "-q", "-F", "-m", "0", image);
            await ShellAsync("mount", "-o", "loop", image, mount);
        }
        catch (Exception e)
        {
            Directory.Delete(root, recursive: true);
            throw new InvalidOperationException(
                $"This test needs a loop-mounted ext4 data folder (root, mkfs.ext4, a free loop device): {e.Message}", e);
        }
        return new StorageWorld(root, mount);
    }

    private IDbContextFactory<CyAgentsDbContext> Databases => new Factory(_options);
    private static ILedger LedgerFor(CyAgentsDbContext db) => new EfLedger(db);

    public Task BootstrapAsync() => NewCycle().BootstrapAsync(default);

    public AllocationCycle NewCycle() => new(Databases, LedgerFor, new BiddingAgent(this), Tokens, _workspaces, _live,
        ResourceBundle.Create(1500, 4096, 1000, 10_000), "/run/cyagents/api.sock", NullLogger<AllocationCycle>.Instance);

    public CrashRecovery NewRecovery()
    {
        // A restart: the old process's pooled connections are gone.
        SqliteConnection.ClearAllPools();
        return new CrashRecovery(Databases, LedgerFor, null, Tokens, NullLogger<CrashRecovery>.Instance);
    }

    /// <summary>Runs cycles; returns how many bids each cleared.</summary>
    public async Task<IReadOnlyList<int>> RunCyclesAsync(int count)
    {
        var cycle = NewCycle();
        var bids = new List<int>();
        for (var i = 0; i < count; i++) bids.Add((await cycle.RunAsync(await cycle.NextNumberAsync(default), default)).Bids);
        return bids;
    }

    public async Task<int> CyclesAsync()
    {
        await using var db = await Databases.CreateDbContextAsync();
        return await db.Set<CycleRecord>().CountAsync();
    }

    /// <summary>
    /// Fills the file system to the last block. The WAL is truncated first: a checkpointed WAL is rewritten in place and would
    /// absorb a few commits without needing a new block, which would make the moment of failure depend on its size.
    /// </summary>
    public string FillDisk()
    {
        using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            checkpoint.ExecuteNonQuery();
        }
        var filler = Path.Combine(_mount, "filler");
        var chunk = new byte[1 << 20];
        using var stream = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            while (true) stream.Write(chunk);
        }
        catch (IOException e) when (StorageFailedException.From(e) is not null)
        {
            // The last partial megabyte: fill block by block until not even one fits.
            var block = new byte[4096];
            while (true)
            {
                try { stream.Write(block); stream.Flush(); }
                catch (IOException) { break; }
            }
        }
        return filler;
    }

    /// <summary>Remounts the data folder read-only ("ro") or writable again ("rw"); pooled connections are closed first.</summary>
    public void Remount(string mode)
    {
        SqliteConnection.ClearAllPools();
        ShellAsync("mount", "-o", $"remount,{mode}", _mount).GetAwaiter().GetResult();
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { await ShellAsync("umount", "-l", _mount); }
        finally { Directory.Delete(_root, recursive: true); }
    }

    private static async Task ShellAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Trim()}");
    }

    private sealed class Factory(DbContextOptions<CyAgentsDbContext> options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options);
    }

    /// <summary>Bids for the next cycle through the bid book in one transaction, as the API's bid endpoint does.</summary>
    private sealed class BiddingAgent(StorageWorld world) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            var started = DateTimeOffset.UtcNow;
            world.DuringRun?.Invoke();
            try
            {
                await using var db = await world.Databases.CreateDbContextAsync(ct);
                await using var tx = await db.Database.BeginTransactionAsync(ct);
                await new BidBook(db, LedgerFor(db)).PlaceAsync(new BidPlacement($"b{request.Cycle + 1}-{request.AgentId}", request.AgentId,
                    request.Cycle + 1, ResourceBundle.Create(250, 96), 50, DateTimeOffset.UtcNow), ct);
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
            }
            catch (Exception e) when (StorageFailedException.From(e) is not null)
            {
                // The API refuses the agent's bid; the agent exits normally without it.
            }
            return new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "fake", started, DateTimeOffset.UtcNow, null, []);
        }
    }
}
