using CyAgents.Persistence.Audit;
using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 6 (audit_checkpoints): the v1 fixture and a v1 PostgreSQL database upgrade to the table today's model makes.</summary>
public sealed class AuditCheckpointsMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    private static AuditCheckpointRecord Checkpoint(long line) => new()
    {
        File = "system.log", Line = line, Offset = line * 300, Hash = new string('a', 64), At = new DateTimeOffset(2026, 12, 1, 16, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public async Task The_v1_fixture_upgrades_and_keeps_checkpoints_in_order_next_to_its_old_rows()
    {
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("audit_checkpoints."));
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            db.Add(Checkpoint(1000));
            db.Add(Checkpoint(2000));
            await db.SaveChangesAsync();
        }
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            var read = await db.Set<AuditCheckpointRecord>().OrderBy(c => c.Id).ToListAsync();
            read.Select(c => c.Line).ShouldBe([1000L, 2000L]);
            read[0].At.ShouldBe(new DateTimeOffset(2026, 12, 1, 16, 0, 0, TimeSpan.Zero));
            (await db.Set<ExecutionRecord>().CountAsync()).ShouldBe(3);
        }
        SchemaFiles.Describe(path).ShouldContain(l => l.StartsWith("audit_checkpoints."));
    }

    [Fact]
    public async Task A_v1_postgres_database_upgrades_to_the_columns_a_new_database_gets()
    {
        await PostgresUpgrade.MatchesFreshAsync("audit", ["DROP TABLE audit_checkpoints"], [("audit_checkpoints", 6)], async upgraded =>
        {
            upgraded.Add(Checkpoint(1));
            await upgraded.SaveChangesAsync();
        });
    }
}
