using CyAgents.Persistence.Audit;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

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
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        SchemaFiles.Describe(path).ShouldNotContain(l => l.StartsWith("audit_checkpoints."));

        await DatabaseSetup.EnsureCreatedAsync(options);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(SchemaMigrations.Current);
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
        var admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`.");
        var old = "cyagents_audit_old_" + Guid.NewGuid().ToString("N");
        var fresh = "cyagents_audit_new_" + Guid.NewGuid().ToString("N");
        DatabaseOptions Of(string name) => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{old}\"");
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{fresh}\"");
        try
        {
            // Version 1 as it was: today's model without the table version 6 adds, and no version stamp.
            await using (var db = new CyAgentsDbContext(Of(old).BuildOptions())) await db.Database.EnsureCreatedAsync();
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString, "DROP TABLE audit_checkpoints");

            await DatabaseSetup.EnsureCreatedAsync(Of(old));
            await DatabaseSetup.EnsureCreatedAsync(Of(fresh));

            (await DatabaseSetup.ReadVersionAsync(Of(old))).ShouldBe(SchemaMigrations.Current);
            (await PostgresTable.DescribeAsync(Of(old).ConnectionString, "audit_checkpoints", 6))
                .ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, "audit_checkpoints", 6));
            await using var write = new CyAgentsDbContext(Of(old).BuildOptions());
            write.Add(Checkpoint(1));
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
