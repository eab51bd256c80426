using CyAgents.Persistence.Records;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Schema version 3 (agents.ManifestJson): the v1 fixture's agents upgrade with no manifest (the Genesis default).</summary>
public sealed class AgentManifestMigrationTests : IDisposable
{
    public void Dispose() => SqliteConnection.ClearAllPools();

    [Fact]
    public async Task The_v1_fixtures_agents_get_a_null_manifest_and_a_new_agent_stores_one()
    {
        var (path, options) = await SchemaFiles.UpgradedCopyOfFixtureAsync(l => l.StartsWith("agents.ManifestJson"));
        SchemaFiles.Describe(path).ShouldContain("agents.ManifestJson TEXT notnull=0 default= pk=0");
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            (await db.Set<AgentRecord>().ToListAsync()).ShouldAllBe(a => a.ManifestJson == null);
            db.Add(new AgentRecord { Id = "py-1", Name = "py", RootId = "py-1", ManifestJson = """{"runtime":"python","command":["python3"],"env":{}}""" });
            await db.SaveChangesAsync();
        }
        await using var read = new CyAgentsDbContext(options.BuildOptions());
        (await read.Set<AgentRecord>().SingleAsync(a => a.Id == "py-1")).ManifestJson.ShouldNotBeNull().ShouldContain("python");
        (await read.Set<AgentRecord>().CountAsync()).ShouldBe(4);
    }
}
