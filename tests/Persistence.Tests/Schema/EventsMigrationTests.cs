using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 5 (events): the v1 fixture and a v1 PostgreSQL database upgrade to the table today's model makes.</summary>
public sealed class EventsMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    private static EventRecord Event(string type) =>
        EventRecords.Create(type, "alice", 3, new DateTimeOffset(2026, 12, 1, 11, 0, 0, TimeSpan.Zero), new { bidId = "b-1", payment = 40 });

    [Fact]
    public async Task The_v1_fixture_upgrades_and_numbers_events_in_order_next_to_its_old_rows()
    {
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        SchemaFiles.Describe(path).ShouldNotContain(l => l.StartsWith("events."));

        await DatabaseSetup.EnsureCreatedAsync(options);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(SchemaMigrations.Current);
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            db.Add(Event(EventTypes.BidPlaced));
            db.Add(Event(EventTypes.BidSettled));
            await db.SaveChangesAsync();
        }
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            var read = await db.Set<EventRecord>().OrderBy(e => e.Seq).ToListAsync();
            read.Select(e => e.Type).ShouldBe([EventTypes.BidPlaced, EventTypes.BidSettled]);
            read[1].Seq.ShouldBeGreaterThan(read[0].Seq);
            read[0].Data.ShouldBe("{\"bidId\":\"b-1\",\"payment\":40}");
            (await db.Set<ExecutionRecord>().CountAsync()).ShouldBe(3);
        }
        SchemaFiles.Describe(path).ShouldContain("events index IX_events_AgentId_Seq unique=0 (AgentId,Seq)");
    }

    [Fact]
    public async Task A_v1_postgres_database_upgrades_to_the_columns_a_new_database_gets()
    {
        var admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`.");
        var old = "cyagents_events_old_" + Guid.NewGuid().ToString("N");
        var fresh = "cyagents_events_new_" + Guid.NewGuid().ToString("N");
        DatabaseOptions Of(string name) => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{old}\"");
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{fresh}\"");
        try
        {
            // Version 1 as it was: today's model without the table version 5 adds, and no version stamp.
            await using (var db = new CyAgentsDbContext(Of(old).BuildOptions())) await db.Database.EnsureCreatedAsync();
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString, "DROP TABLE events");

            await DatabaseSetup.EnsureCreatedAsync(Of(old));
            await DatabaseSetup.EnsureCreatedAsync(Of(fresh));

            (await DatabaseSetup.ReadVersionAsync(Of(old))).ShouldBe(SchemaMigrations.Current);
            (await PostgresTable.DescribeAsync(Of(old).ConnectionString, "events", 6)).ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, "events", 6));
            await using var write = new CyAgentsDbContext(Of(old).BuildOptions());
            write.Add(Event(EventTypes.CycleStarted));
            await write.SaveChangesAsync();
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)");
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{fresh}\" WITH (FORCE)");
        }
    }
}
