using BenchmarkDotNet.Attributes;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using Microsoft.Data.Sqlite;

namespace CyAgents.Benchmarks.Ledger;

/// <summary>
/// Committed ledger transfers per second on a SQLite file (WAL, synchronous=NORMAL), one transfer per commit,
/// through <see cref="EfLedger"/> exactly as the API uses it. Target: at least 5,000 per second.
/// Run: <c>dotnet run -c Release --project bench/Benchmarks -- --filter '*SqliteLedger*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SqliteLedgerBenchmarks
{
    private const int Batch = 200;
    private string _directory = "";
    private EfLedger _ledger = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "cyagents-ledger-bench", Guid.NewGuid().ToString("N"));
        var options = DatabaseOptions.ForSqliteFile(Path.Combine(_directory, "ledger.db"));
        DatabaseSetup.EnsureCreatedAsync(options).GetAwaiter().GetResult();
        _ledger = EfLedger.Open(options);
        _ledger.OpenAccountAsync("agent:payer", AccountKind.Agent).AsTask().GetAwaiter().GetResult();
        _ledger.OpenAccountAsync("agent:payee", AccountKind.Agent).AsTask().GetAwaiter().GetResult();
        _ledger.TransferAsync(new TransferRequest("endow", AccountIds.Treasury, "agent:payer", long.MaxValue / 2, TransferKind.Endowment))
            .AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ledger.Dispose();
        _baseline?.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private SqliteConnection? _baseline;
    private SqliteCommand? _baselineInsert;

    /// <summary>
    /// Calibration, not the ledger: the cheapest possible commit on this machine (BEGIN IMMEDIATE, one small
    /// insert, COMMIT) on a file with the same settings. Shows how much of a transfer is the disk and the load.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch, Baseline = true)]
    public void BareSqliteCommit()
    {
        if (_baseline is null)
        {
            _baseline = new SqliteConnection($"Data Source={Path.Combine(_directory, "baseline.db")}");
            _baseline.Open();
            using (var setup = _baseline.CreateCommand())
            {
                setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);";
                setup.ExecuteNonQuery();
            }
            _baselineInsert = _baseline.CreateCommand();
            _baselineInsert.CommandText = "INSERT INTO t (v) VALUES (@v)";
            _baselineInsert.Parameters.AddWithValue("@v", "x");
        }
        for (var i = 0; i < Batch; i++)
        {
            using var tx = _baseline.BeginTransaction(deferred: false);
            _baselineInsert!.Transaction = tx;
            _baselineInsert.Parameters[0].Value = "t" + _next++;
            _baselineInsert.ExecuteNonQuery();
            tx.Commit();
        }
    }

    /// <summary>One posted transfer, its own transaction and commit.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task PostedTransfer()
    {
        for (var i = 0; i < Batch; i++)
            await _ledger.TransferAsync(new TransferRequest("t" + _next++, "agent:payer", "agent:payee", 3, TransferKind.Gift));
    }

    /// <summary>A bid's escrow (pending) and its settlement (post in part + charge, one linked batch): two commits.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task EscrowThenSettle()
    {
        for (var i = 0; i < Batch; i++)
        {
            var bid = _next++;
            var escrow = $"bid:{bid}:escrow";
            await _ledger.TransferAsync(new TransferRequest(escrow, "agent:payer", AccountIds.Escrow, 10, TransferKind.BidEscrow, 1, Pending: true));
            await _ledger.ApplyBatchAsync(
            [
                new PendingResolution($"bid:{bid}:settle", escrow, Void: false, Amount: 7, Cycle: 1),
                new TransferRequest($"bid:{bid}:charge", AccountIds.Escrow, AccountIds.Treasury, 7, TransferKind.ClearingCharge, 1),
            ]);
        }
    }
}

/// <summary>
/// The in-memory ledger as the simulator uses it: operations per second with and without history.
/// The simulator's budget (10,000 agents x 1,000 cycles in 30 s) is about ten million bid lifecycles.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class InMemoryLedgerBenchmarks
{
    private const int Batch = 10_000;
    private const int Agents = 10_000;
    private InMemoryLedger _ledger = null!;
    private string[] _agents = [];
    private long _next;

    [Params(true, false)]
    public bool RetainHistory { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ledger = new InMemoryLedger(new InMemoryLedgerOptions { RetainHistory = RetainHistory });
        _agents = new string[Agents];
        for (var a = 0; a < Agents; a++)
        {
            _agents[a] = AccountIds.ForAgent("a" + a);
            _ledger.OpenAccountAsync(_agents[a], AccountKind.Agent).AsTask().GetAwaiter().GetResult();
            _ledger.TransferAsync(new TransferRequest("endow:" + a, AccountIds.Treasury, _agents[a], 1_000_000_000, TransferKind.Endowment))
                .AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>One posted agent-to-agent transfer.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void PostedTransfer()
    {
        for (var i = 0; i < Batch; i++)
        {
            var n = _next++;
            _ = _ledger.TransferAsync(new TransferRequest("t" + n, _agents[n % Agents], _agents[(n + 1) % Agents], 1, TransferKind.Gift)).Result;
        }
    }

    /// <summary>One bid lifecycle: escrow (pending), then settle as a batch (post in part + charge). Three ledger operations.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void BidLifecycle()
    {
        for (var i = 0; i < Batch; i++)
        {
            var n = _next++;
            var escrow = "bid:" + n + ":escrow";
            _ = _ledger.TransferAsync(new TransferRequest(escrow, _agents[n % Agents], AccountIds.Escrow, 10, TransferKind.BidEscrow, 1, Pending: true)).Result;
            _ = _ledger.ApplyBatchAsync(
            [
                new PendingResolution("bid:" + n + ":settle", escrow, Void: false, Amount: 7, Cycle: 1),
                new TransferRequest("bid:" + n + ":charge", AccountIds.Escrow, AccountIds.Treasury, 7, TransferKind.ClearingCharge, 1),
            ]).Result;
        }
    }
}
