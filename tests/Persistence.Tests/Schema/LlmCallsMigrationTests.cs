using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 2 (llm_calls): the v1 fixture and a v1 PostgreSQL database upgrade to the table today's model makes.</summary>
public sealed class LlmCallsMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    private static LlmCallRecord Call(string id) => new()
    {
        Id = id, ExecutionId = "exe-1", AgentId = "alice", Cycle = 3, Model = "gpt-test", Provider = "fake", Route = "chat", Stream = true,
        PromptTokens = 40, CompletionTokens = 9, ReservedTokens = 200, ChargedTokens = 49, Attempts = 2, LatencyMs = 12,
        Outcome = LlmCallOutcome.StreamBroken, Error = "the stream broke", StartedAt = new DateTimeOffset(2026, 12, 1, 11, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public async Task The_v1_fixture_upgrades_and_stores_a_gateway_call_next_to_its_old_rows()
    {
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        SchemaFiles.Describe(path).ShouldNotContain(l => l.StartsWith("llm_calls."));

        await DatabaseSetup.EnsureCreatedAsync(options);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(SchemaMigrations.Current);
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            db.Add(Call("llm-1"));
            await db.SaveChangesAsync();
        }
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            var read = await db.Set<LlmCallRecord>().SingleAsync();
            read.ShouldBeEquivalentTo(Call("llm-1"));
            (await db.Set<ExecutionRecord>().CountAsync()).ShouldBe(3);
        }
        SchemaFiles.Describe(path).ShouldContain("llm_calls index IX_llm_calls_ExecutionId unique=0 (ExecutionId)");
    }

    [Fact]
    public async Task A_v1_postgres_database_upgrades_to_the_columns_a_new_database_gets()
    {
        var admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`.");
        var old = "cyagents_llm_old_" + Guid.NewGuid().ToString("N");
        var fresh = "cyagents_llm_new_" + Guid.NewGuid().ToString("N");
        DatabaseOptions Of(string name) => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{old}\"");
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{fresh}\"");
        try
        {
            // Version 1 as it was: today's model without the table version 2 adds, and no version stamp.
            await using (var db = new CyAgentsDbContext(Of(old).BuildOptions())) await db.Database.EnsureCreatedAsync();
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString, "DROP TABLE llm_calls");

            await DatabaseSetup.EnsureCreatedAsync(Of(old));
            await DatabaseSetup.EnsureCreatedAsync(Of(fresh));

            (await DatabaseSetup.ReadVersionAsync(Of(old))).ShouldBe(SchemaMigrations.Current);
            (await PostgresTable.DescribeAsync(Of(old).ConnectionString, "llm_calls", 17)).ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, "llm_calls", 17));
            await using var write = new CyAgentsDbContext(Of(old).BuildOptions());
            write.Add(Call("llm-2"));
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
