using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 7 (prompts.Attention, prompts.ExpiredCycle, ADR 0135): old prompts upgrade as having cost nothing.</summary>
public sealed class PromptAttentionMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    [Fact]
    public async Task The_v1_fixtures_prompts_upgrade_with_no_attention_spent_and_new_ones_store_theirs()
    {
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        SchemaFiles.Describe(path).ShouldNotContain(l => l.StartsWith("prompts.Attention"));

        await DatabaseSetup.EnsureCreatedAsync(options);

        var schema = SchemaFiles.Describe(path);
        schema.ShouldContain("prompts.Attention INTEGER notnull=1 default=0 pk=0");
        schema.ShouldContain("prompts.ExpiredCycle INTEGER notnull=0 default= pk=0");
        schema.ShouldContain("prompts index IX_prompts_ExecutionId unique=0 (ExecutionId)");
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            var old = await db.Set<PromptRecord>().ToListAsync();
            old.ShouldNotBeEmpty();
            old.ShouldAllBe(p => p.Attention == 0 && p.ExpiredCycle == null);
            db.Add(new PromptRecord { Id = "prm-new", AgentId = "alice", ExecutionId = "exe-9", Cycle = 9, Question = "?", Attention = 300 });
            db.Add(new PromptRecord { Id = "prm-gone", AgentId = "alice", Cycle = 2, Question = "?", Status = PromptStatus.Expired, ExpiredCycle = 13 });
            await db.SaveChangesAsync();
        }
        await using var read = new CyAgentsDbContext(options.BuildOptions());
        (await read.Set<PromptRecord>().SingleAsync(p => p.Id == "prm-new")).Attention.ShouldBe(300);
        (await read.Set<PromptRecord>().SingleAsync(p => p.Id == "prm-gone")).ExpiredCycle.ShouldBe(13);
    }

    [Fact]
    public async Task A_v1_postgres_database_upgrades_to_the_prompt_columns_a_new_database_gets()
    {
        var admin = Environment.GetEnvironmentVariable("CYAGENTS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
            throw new InvalidOperationException("CYAGENTS_TEST_POSTGRES is not set: `export CYAGENTS_TEST_POSTGRES=$(scripts/ensure-postgres)`.");
        var old = "cyagents_prompts_old_" + Guid.NewGuid().ToString("N");
        var fresh = "cyagents_prompts_new_" + Guid.NewGuid().ToString("N");
        DatabaseOptions Of(string name) => DatabaseOptions.ForPostgres(new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString);
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{old}\"");
        await PostgresTable.ExecuteAsync(admin, $"CREATE DATABASE \"{fresh}\"");
        try
        {
            // Version 1 as it was: today's model without what version 7 adds, with a prompt in it, and no version stamp.
            await using (var db = new CyAgentsDbContext(Of(old).BuildOptions())) await db.Database.EnsureCreatedAsync();
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString,
                """DROP INDEX "IX_prompts_ExecutionId"; ALTER TABLE prompts DROP COLUMN "Attention"; ALTER TABLE prompts DROP COLUMN "ExpiredCycle";""");
            await PostgresTable.ExecuteAsync(Of(old).ConnectionString,
                """INSERT INTO prompts ("Id", "AgentId", "Cycle", "Question", "Reward", "Status", "CreatedAt") VALUES ('prm-old', 'alice', 1, '?', 0, 0, now())""");

            await DatabaseSetup.EnsureCreatedAsync(Of(old));
            await DatabaseSetup.EnsureCreatedAsync(Of(fresh));

            (await DatabaseSetup.ReadVersionAsync(Of(old))).ShouldBe(SchemaMigrations.Current);
            (await PostgresTable.DescribeAsync(Of(old).ConnectionString, "prompts", 12))
                .ShouldBe(await PostgresTable.DescribeAsync(Of(fresh).ConnectionString, "prompts", 12));
            await using var read = new CyAgentsDbContext(Of(old).BuildOptions());
            (await read.Set<PromptRecord>().SingleAsync()).Attention.ShouldBe(0);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)");
            await PostgresTable.ExecuteAsync(admin, $"DROP DATABASE IF EXISTS \"{fresh}\" WITH (FORCE)");
        }
    }
}
