using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

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
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("llm_calls."));
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
        await PostgresUpgrade.MatchesFreshAsync("llm", ["DROP TABLE llm_calls"], [("llm_calls", 17)], async upgraded =>
        {
            upgraded.Add(Call("llm-2"));
            await upgraded.SaveChangesAsync();
        });
    }
}
