using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 3 (agent_uids, ADR 0071): the v1 fixture upgrades to the table today's model makes, uid unique.</summary>
public sealed class AgentUidsMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    [Fact]
    public async Task The_v1_fixture_upgrades_to_agent_uids_keeps_its_agents_and_refuses_a_uid_given_twice()
    {
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("agent_uids."));
        SchemaFiles.Describe(path).ShouldContain("agent_uids index IX_agent_uids_Uid unique=1 (Uid)");
        var at = new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            db.Add(new AgentUidRecord { AgentId = "alice", Uid = 200_000, AssignedAt = at });
            await db.SaveChangesAsync();
        }
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            (await db.Set<AgentUidRecord>().SingleAsync()).ShouldBeEquivalentTo(new AgentUidRecord { AgentId = "alice", Uid = 200_000, AssignedAt = at });
            (await db.Set<AgentRecord>().CountAsync()).ShouldBe(3);
            db.Add(new AgentUidRecord { AgentId = "bob", Uid = 200_000, AssignedAt = at });
            await Should.ThrowAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }
    }
}
