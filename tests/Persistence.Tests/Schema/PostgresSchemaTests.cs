using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>
/// Schema versions on a real PostgreSQL server (env CYAGENTS_TEST_POSTGRES; without it every test fails). The
/// "before versions" database is made as that code did: EnsureCreated from the model, no version table.
/// </summary>
public sealed class PostgresSchemaTests : IAsyncLifetime
{
    private static readonly SchemaMigration AddIndex = new(2, "index on executions by status",
        ["CREATE INDEX \"IX_executions_Status\" ON executions (\"Status\")"],
        ["CREATE INDEX \"IX_executions_Status\" ON executions (\"Status\")"]);

    // The test step after the production ones.
    private static SchemaMigration NextIndex => AddIndex with { Version = SchemaMigrations.Current + 1 };

    private string _admin = "";
    private string _database = "";
    private DatabaseOptions Options => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(_admin) { Database = _database }.ConnectionString);

    public async Task InitializeAsync()
    {
        _admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES") ?? "";
        if (string.IsNullOrWhiteSpace(_admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: start a server with " +
                                                "`export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)` (scripts/test does this).");
        _database = "cyagents_schema_" + Guid.NewGuid().ToString("N");
        await AdminAsync($"CREATE DATABASE \"{_database}\"");
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
    }

    [Fact]
    public async Task A_database_from_before_versions_is_stamped_1_then_upgraded_keeping_its_rows()
    {
        await using (var db = new CyAgentsDbContext(Options.BuildOptions()))
        {
            await db.Database.EnsureCreatedAsync();
            db.Add(new AgentRecord { Id = "alice", Name = "alice", RootId = "alice", CreatedAt = DateTimeOffset.UnixEpoch });
            await db.SaveChangesAsync();
        }
        (await DatabaseSetup.ReadVersionAsync(Options)).ShouldBeNull();

        // Stamped 1, then the production steps run (idempotent over a model that already has their tables), then a test step.
        await DatabaseSetup.EnsureCreatedAsync(Options);
        (await DatabaseSetup.ReadVersionAsync(Options)).ShouldBe(SchemaMigrations.Current);
        await DatabaseSetup.EnsureCreatedAsync(Options, [.. SchemaMigrations.All, NextIndex]);

        (await DatabaseSetup.ReadVersionAsync(Options)).ShouldBe(SchemaMigrations.Current + 1);
        (await ScalarAsync("SELECT count(*) FROM pg_indexes WHERE indexname = 'IX_executions_Status'")).ShouldBe(1L);
        (await ScalarAsync("SELECT count(*) FROM schema_version")).ShouldBe((long)SchemaMigrations.Current + 1);
        await using var read = new CyAgentsDbContext(Options.BuildOptions());
        (await read.Set<AgentRecord>().SingleAsync()).Id.ShouldBe("alice");
    }

    [Fact]
    public async Task A_new_database_is_created_and_stamped_with_the_current_version()
    {
        await DatabaseSetup.EnsureCreatedAsync(Options);

        (await DatabaseSetup.ReadVersionAsync(Options)).ShouldBe(SchemaMigrations.Current);
        (await ScalarAsync("SELECT count(*) FROM information_schema.tables WHERE table_name = 'ledger_accounts'")).ShouldBe(1L);
    }

    [Fact]
    public async Task Two_hosts_starting_together_upgrade_once()
    {
        await using (var db = new CyAgentsDbContext(Options.BuildOptions()))
            await db.Database.EnsureCreatedAsync();
        await DatabaseSetup.EnsureCreatedAsync(Options);

        await Task.WhenAll(DatabaseSetup.EnsureCreatedAsync(Options, [.. SchemaMigrations.All, NextIndex]),
            DatabaseSetup.EnsureCreatedAsync(Options, [.. SchemaMigrations.All, NextIndex]));

        (await ScalarAsync("SELECT count(*) FROM schema_version")).ShouldBe((long)SchemaMigrations.Current + 1);
    }

    [Fact]
    public async Task A_database_from_a_newer_release_is_refused_in_one_line_and_left_as_it_was()
    {
        await DatabaseSetup.EnsureCreatedAsync(Options);
        await ScalarAsync($"INSERT INTO schema_version VALUES ({SchemaMigrations.Current + 8}, 'from the future', '2030-01-01')");

        var refused = await Should.ThrowAsync<SchemaVersionException>(() => DatabaseSetup.EnsureCreatedAsync(Options, [AddIndex, AddIndex with { Version = 3 }]));

        refused.Message.ShouldNotContain('\n');
        refused.Message.ShouldContain("upgrade CyAgents");
        refused.Message.ShouldContain(_database);
        (await ScalarAsync("SELECT count(*) FROM pg_indexes WHERE indexname = 'IX_executions_Status'")).ShouldBe(0L);
    }

    private async Task AdminAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(_admin);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(Options.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteScalarAsync();
    }
}
