using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

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
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("events."));
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
        await PostgresUpgrade.MatchesFreshAsync("events", ["DROP TABLE events"], [("events", 6)], async upgraded =>
        {
            upgraded.Add(Event(EventTypes.CycleStarted));
            await upgraded.SaveChangesAsync();
        });
    }
}
