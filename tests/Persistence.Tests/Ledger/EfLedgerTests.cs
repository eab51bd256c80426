using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Tests.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Ledger;

/// <summary>
/// The behaviour suite on <see cref="EfLedger"/>, plus what only a database ledger does: joining a caller's
/// transaction. Each test gets a database of its own, created before and dropped after.
/// </summary>
public abstract class EfLedgerBehaviourTests : LedgerBehaviourTests
{
    private readonly List<EfLedger> _handles = [];

    protected DatabaseOptions Options { get; private set; } = null!;

    /// <summary>Creates a fresh, empty database and returns how to reach it.</summary>
    protected abstract Task<DatabaseOptions> CreateDatabaseAsync();

    /// <summary>Removes the database created by <see cref="CreateDatabaseAsync"/>.</summary>
    protected abstract Task DropDatabaseAsync();

    protected override async Task<ILedger> CreateLedgerAsync()
    {
        Options = await CreateDatabaseAsync();
        await DatabaseSetup.EnsureCreatedAsync(Options);
        return await OpenSecondHandleAsync();
    }

    protected override Task<ILedger> OpenSecondHandleAsync()
    {
        var ledger = EfLedger.Open(Options);
        lock (_handles) _handles.Add(ledger);
        return Task.FromResult<ILedger>(ledger);
    }

    protected override async Task<long> CountStoredTransfersAsync()
    {
        await using var db = new CyAgentsDbContext(Options.BuildOptions());
        return await db.Set<LedgerTransferRecord>().LongCountAsync();
    }

    public override async Task DisposeAsync()
    {
        foreach (var h in _handles) await h.DisposeAsync();
        if (Options is not null) await DropDatabaseAsync();
    }

    private static BidRecord Bid(string id) => new()
    {
        Id = id, AgentId = "alice", Cycle = 1, Bundle = ResourceBundle.Create(cpuMillicores: 500), Amount = 60,
        EscrowTransferId = "bid:" + id + ":escrow", CreatedAt = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public async Task Ledger_joins_the_callers_transaction_and_commits_or_rolls_back_with_it()
    {
        await Fund(Alice, 100);
        await using (var db = new CyAgentsDbContext(Options.BuildOptions()))
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            db.Add(Bid("b1"));
            await db.SaveChangesAsync();
            await new EfLedger(db).TransferAsync(new TransferRequest("bid:b1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, 1, Pending: true));
            await tx.RollbackAsync();
        }
        (await Ledger.FindTransferAsync("bid:b1:escrow")).ShouldBeNull();
        (await Balance(Alice)).Reserved.ShouldBe(0);

        await using (var db = new CyAgentsDbContext(Options.BuildOptions()))
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            db.Add(Bid("b1"));
            await db.SaveChangesAsync();
            var ledger = new EfLedger(db);
            await ledger.TransferAsync(new TransferRequest("bid:b1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, 1, Pending: true));
            // Not committed by the ledger: the caller decides.
            db.Database.CurrentTransaction.ShouldNotBeNull();
            await tx.CommitAsync();
        }
        await using (var db = new CyAgentsDbContext(Options.BuildOptions()))
            (await db.Set<BidRecord>().CountAsync()).ShouldBe(1);
        (await Balance(Alice)).Reserved.ShouldBe(60);
        (await Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_refused_operation_inside_a_callers_transaction_leaves_it_usable()
    {
        await Fund(Alice, 100);
        await using (var db = new CyAgentsDbContext(Options.BuildOptions()))
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            var ledger = new EfLedger(db);
            await ledger.TransferAsync(new TransferRequest("bid:b1:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));
            (await Should.ThrowAsync<LedgerException>(ledger.TransferAsync(
                new TransferRequest("bid:b2:escrow", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true)).AsTask()))
                .Error.ShouldBe(LedgerError.InsufficientFunds);
            (await Should.ThrowAsync<LedgerException>(ledger.ApplyBatchAsync(
            [
                new PendingResolution("bid:b1:settle", "bid:b1:escrow", Void: false, Amount: 10),
                new TransferRequest("bid:b1:charge", AccountIds.Escrow, AccountIds.Treasury, 11, TransferKind.ClearingCharge),
            ]).AsTask())).Error.ShouldBe(LedgerError.InsufficientFunds);
            (await ledger.GetBalanceAsync(Alice)).ShouldBe(new AccountBalance(Alice, 100, 60, 0));
            db.Add(Bid("b1"));
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }
        (await Balance(Alice)).ShouldBe(new AccountBalance(Alice, 100, 60, 0));
        (await Ledger.FindTransferAsync("bid:b1:escrow"))!.State.ShouldBe(TransferState.Pending);
        (await CountStoredTransfersAsync()).ShouldBe(2);
        (await Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_second_resolution_of_one_pending_transfer_cannot_be_stored_even_bypassing_the_ledger()
    {
        await Fund(Alice, 100);
        await Ledger.TransferAsync(new TransferRequest("p", Alice, AccountIds.Escrow, 60, TransferKind.BidEscrow, Pending: true));
        await Ledger.ResolveAsync(new PendingResolution("r1", "p", Void: true));

        await using var db = new CyAgentsDbContext(Options.BuildOptions());
        db.Add(new LedgerTransferRecord
        {
            Id = "r2", Sequence = 99, DebitAccountId = Alice, CreditAccountId = AccountIds.Escrow, Amount = 60,
            Kind = TransferKind.BidEscrow, State = TransferState.PendingPosted, PendingId = "p", PostedAmount = 60,
        });
        await Should.ThrowAsync<DbUpdateException>(db.SaveChangesAsync());
    }

    [Fact]
    public async Task Four_processes_spending_from_one_account_never_overdraw_and_lose_nothing()
    {
        const long Endowment = 15_000;
        const int Processes = 4, PerProcess = 80;
        await Fund(Alice, Endowment);
        var go = Path.Combine(Path.GetTempPath(), "cyagents-ledger-go-" + Guid.NewGuid().ToString("N"));
        var children = new List<System.Diagnostics.Process>();
        try
        {
            for (var k = 0; k < Processes; k++)
            {
                await Ledger.OpenAccountAsync($"agent:sink{k}", AccountKind.Agent);
                var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                foreach (var arg in new[] { typeof(LedgerSpenderProcess).Assembly.Location, LedgerSpenderProcess.Verb, Options.Provider,
                             Options.ConnectionString, Alice, $"agent:sink{k}", $"p{k}", PerProcess.ToString(System.Globalization.CultureInfo.InvariantCulture),
                             (77 + k).ToString(System.Globalization.CultureInfo.InvariantCulture), go })
                    start.ArgumentList.Add(arg);
                children.Add(System.Diagnostics.Process.Start(start)!);
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            foreach (var child in children)
            {
                var ready = await child.StandardOutput.ReadLineAsync(timeout.Token);
                if (ready != "ready")
                    throw new InvalidOperationException($"a spender process did not start ({ready}): {await child.StandardError.ReadToEndAsync(timeout.Token)}");
            }
            await File.WriteAllTextAsync(go, "go");
            var spent = new long[Processes];
            var refused = 0;
            for (var k = 0; k < Processes; k++)
            {
                var line = await children[k].StandardOutput.ReadLineAsync(timeout.Token);
                await children[k].WaitForExitAsync(timeout.Token);
                if (children[k].ExitCode != 0)
                    throw new InvalidOperationException($"spender {k} failed: {await children[k].StandardError.ReadToEndAsync(timeout.Token)}");
                var parts = line!.Split(' ').Select(p => long.Parse(p.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                spent[k] = parts[0];
                refused += (int)parts[1];
            }

            refused.ShouldBeGreaterThan(0, "the processes must drive the account to its limit");
            var alice = await Balance(Alice);
            alice.Posted.ShouldBe(Endowment - spent.Sum());
            alice.Available.ShouldBeGreaterThanOrEqualTo(0);
            for (var k = 0; k < Processes; k++) (await Balance($"agent:sink{k}")).Posted.ShouldBe(spent[k]);
            (await CountStoredTransfersAsync()).ShouldBe(1 + Processes * PerProcess - refused);
            (await Ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited) child.Kill();
                child.Dispose();
            }
            File.Delete(go);
        }
    }

    [Fact]
    public async Task Replayed_ids_leave_the_sequence_without_gaps()
    {
        await Fund(Alice, 100);
        await Fund(Alice, 100);
        await Ledger.OpenAccountAsync(Bob, AccountKind.Agent);

        var next = await Ledger.TransferAsync(new TransferRequest("g", Alice, Bob, 1, TransferKind.Gift));

        next.Sequence.ShouldBe(2);
    }
}

/// <summary>The behaviour suite on a SQLite file (WAL), the default store.</summary>
public sealed class SqliteLedgerTests : EfLedgerBehaviourTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cyagents-ledger-tests", Guid.NewGuid().ToString("N"));

    protected override Task<DatabaseOptions> CreateDatabaseAsync() =>
        Task.FromResult(DatabaseOptions.ForSqliteFile(Path.Combine(_directory, "ledger.db")));

    protected override Task DropDatabaseAsync()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_database_file_runs_in_wal_mode()
    {
        await using var db = new CyAgentsDbContext(Options.BuildOptions());
        await db.Database.OpenConnectionAsync();
        await using var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        (await cmd.ExecuteScalarAsync()).ShouldBe("wal");
        cmd.CommandText = "PRAGMA synchronous";
        (await cmd.ExecuteScalarAsync()).ShouldBe(1L);
    }
}

/// <summary>
/// The behaviour suite on a real PostgreSQL server: env CYAGENTS_TEST_POSTGRES (scripts/ensure-postgres prints
/// it). Each test creates its own database and drops it afterwards. Without the variable every test fails.
/// </summary>
public sealed class PostgresLedgerTests : EfLedgerBehaviourTests
{
    private string? _database;
    private string? _admin;

    protected override async Task<DatabaseOptions> CreateDatabaseAsync()
    {
        _admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(_admin))
            throw new InvalidOperationException(
                "CYAGENTS_TEST_POSTGRES is not set: the ledger suite must also run on PostgreSQL. " +
                "Start a server with `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)` (scripts/test does this).");
        _database = "cyagents_ledger_" + Guid.NewGuid().ToString("N");
        await using (var conn = new NpgsqlConnection(_admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        return DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(_admin) { Database = _database }.ConnectionString);
    }

    protected override async Task DropDatabaseAsync()
    {
        if (_database is null || _admin is null) return;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(_admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
