using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 7 (prompts.Attention, prompts.ExpiredCycle, ADR 0135): old prompts upgrade as having cost nothing.</summary>
public sealed class PromptAttentionMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    [Fact]
    public async Task The_v1_fixtures_prompts_upgrade_with_no_attention_spent_and_new_ones_store_theirs()
    {
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("prompts.Attention"));
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
        // Version 1 had neither column nor the index, and had prompts: the upgrade must give an old one no attention spent.
        await PostgresUpgrade.MatchesFreshAsync("prompts",
            [
                """DROP INDEX "IX_prompts_ExecutionId"; ALTER TABLE prompts DROP COLUMN "Attention"; ALTER TABLE prompts DROP COLUMN "ExpiredCycle";""",
                """INSERT INTO prompts ("Id", "AgentId", "Cycle", "Question", "Reward", "Status", "CreatedAt") VALUES ('prm-old', 'alice', 1, '?', 0, 0, now())""",
            ],
            [("prompts", 12)],
            async upgraded => (await upgraded.Set<PromptRecord>().SingleAsync()).Attention.ShouldBe(0));
    }
}
