using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Ledger;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Events;

/// <summary>
/// On PostgreSQL an identity value taken by a transaction that commits later than another's is the way a stream reader
/// past the later one misses it. ADR 0131: event writers hold one lock from their first event to their commit, so
/// sequence numbers become visible in order. Real server (CYAGENTS_TEST_POSTGRES); fails, never skips, without it.
/// </summary>
public sealed class PostgresEventOrderTests : IAsyncLifetime
{
    private string _admin = "";
    private string _database = "";
    private DatabaseOptions _options = null!;

    public async Task InitializeAsync()
    {
        _admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES") ?? "";
        if (string.IsNullOrWhiteSpace(_admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: start a server with " +
                                                "`export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)` (scripts/test does this).");
        _database = "cyagents_events_" + Guid.NewGuid().ToString("N");
        await using (var conn = new NpgsqlConnection(_admin))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{_database}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        _options = DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(_admin) { Database = _database }.ConnectionString);
        await DatabaseSetup.EnsureCreatedAsync(_options);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(_admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private CyAgentsDbContext Open() => new(_options.BuildOptions());

    private static EventRecord Event(string writer) => EventRecords.Create(EventTypes.CycleStarted, null, 1, DateTimeOffset.UtcNow, new { writer });

    private async Task<List<long>> VisibleAsync(long after = 0)
    {
        await using var db = Open();
        return await db.Set<EventRecord>().AsNoTracking().Where(e => e.Seq > after).OrderBy(e => e.Seq).Select(e => e.Seq).ToListAsync();
    }

    [Fact]
    public async Task A_second_writer_waits_for_the_first_so_no_reader_sees_a_later_sequence_number_first()
    {
        await using var first = Open();
        await using var tx = await first.Database.BeginTransactionAsync();
        first.Add(Event("first"));
        await first.SaveChangesAsync();

        // Without the lock this save takes the next identity value and commits at once: a reader would see it while
        // the first writer's lower number is still invisible, and a reader past it would never see the first event.
        var second = Task.Run(async () =>
        {
            await using var db = Open();
            db.Add(Event("second"));
            await db.SaveChangesAsync();
        });
        await Task.Delay(500);
        (await VisibleAsync()).ShouldBeEmpty();
        second.IsCompleted.ShouldBeFalse();

        await tx.CommitAsync();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        await using var check = Open();
        var rows = await check.Set<EventRecord>().OrderBy(e => e.Seq).Select(e => e.Data).ToListAsync();
        rows.Select(d => d.Contains("\"first\"") ? "first" : "second").ShouldBe(["first", "second"]);
    }

    [Fact]
    public async Task A_follower_reading_after_its_last_sequence_number_gets_every_event_once_in_order_under_concurrent_writers()
    {
        await using (var setup = Open())
        {
            var ledger = new EfLedger(setup);
            await ledger.OpenAccountAsync(AccountIds.ForAgent("a"), AccountKind.Agent);
            await ledger.OpenAccountAsync(AccountIds.ForAgent("b"), AccountKind.Agent);
            await ledger.TransferAsync(new TransferRequest("endow", AccountIds.Treasury, AccountIds.ForAgent("a"), 1_000_000, TransferKind.Endowment));
        }
        using var stop = new CancellationTokenSource();
        var followed = new List<long>();
        var follower = Task.Run(async () =>
        {
            long last = 0;
            while (true)
            {
                var done = stop.IsCancellationRequested;
                var page = await VisibleAsync(last);
                followed.AddRange(page);
                if (page.Count > 0) last = page[^1];
                else if (done) return;
            }
        });
        // Event saves that hold their transaction open a while after inserting (the window a later commit would slip
        // through), beside ledger writes that emit ledger.transfer events on their own connection.
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await using var db = Open();
                await using var tx = await db.Database.BeginTransactionAsync();
                db.Add(Event($"w{w}-{i}"));
                await db.SaveChangesAsync();
                await Task.Delay(Random.Shared.Next(0, 15));
                await tx.CommitAsync();
            }
        })).Concat(Enumerable.Range(0, 2).Select(l => Task.Run(async () =>
        {
            await using var db = Open();
            var ledger = new EfLedger(db);
            for (var i = 0; i < 30; i++)
                await ledger.TransferAsync(new TransferRequest($"t{l}-{i}", AccountIds.ForAgent("a"), AccountIds.ForAgent("b"), 1, TransferKind.Gift));
        }))).ToArray();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await follower;

        var table = await VisibleAsync();
        table.Count.ShouldBe(1 + 3 * 15 + 2 * 30 * 2);
        followed.ShouldBe(table);
    }
}
