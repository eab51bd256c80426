using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Tests.Cycles;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Sandbox;

/// <summary>One agent, one identity (issue 9 item 2, ADR 0071): each agent its own host uid, assigned once, never reused.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AgentUidsTests
{
    [Fact]
    public async Task Agents_get_consecutive_uids_from_the_range_once_and_keep_them()
    {
        await using var world = new CycleWorld();
        var uids = new AgentUids(world.Databases, new UidRange { First = 300_000, Count = 10 });

        (await uids.ForAsync("alpha")).ShouldBe(300_000);
        (await uids.ForAsync("beta")).ShouldBe(300_001);
        (await uids.ForAsync("alpha")).ShouldBe(300_000, "assigned once");
        // A fresh process over the same database reads what was stored.
        (await new AgentUids(world.Databases, new UidRange { First = 300_000, Count = 10 }).ForAsync("beta")).ShouldBe(300_001);
    }

    [Fact]
    public async Task A_uid_is_never_reused_even_when_the_range_moves_below_the_uids_given()
    {
        await using var world = new CycleWorld();
        await new AgentUids(world.Databases, new UidRange { First = 300_000, Count = 10 }).ForAsync("alpha");

        // The operator lowers the range: new agents still get uids above every uid ever given.
        (await new AgentUids(world.Databases, new UidRange { First = 250_000, Count = 100_000 }).ForAsync("beta")).ShouldBe(300_001);
    }

    [Fact]
    public async Task Concurrent_first_executions_of_many_agents_get_distinct_uids()
    {
        await using var world = new CycleWorld();
        var uids = new AgentUids(world.Databases, new UidRange());

        var given = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => uids.ForAsync($"agent-{i}")));

        given.Distinct().Count().ShouldBe(20);
        given.ShouldAllBe(u => u >= 200_000 && u < 300_000);
    }

    [Fact]
    public async Task An_exhausted_range_is_a_clear_error_naming_the_setting()
    {
        await using var world = new CycleWorld();
        var uids = new AgentUids(world.Databases, new UidRange { First = 300_000, Count = 1 });
        await uids.ForAsync("alpha");

        var e = await Should.ThrowAsync<UidRangeExhaustedException>(() => uids.ForAsync("beta"));

        e.Message.ShouldContain("Sandbox:UidRange");
    }

    [Theory]
    [InlineData(1000, 10, "UidRange:First")]
    [InlineData(0, 10, "UidRange:First")]
    [InlineData(200_000, 0, "UidRange:Count")]
    [InlineData(2_147_000_000, 1_000_000, "UidRange:First + UidRange:Count")]
    public void A_bad_range_is_refused_naming_its_key(int first, int count, string key)
    {
        new SandboxOptions { UidRange = new UidRange { First = first, Count = count } }.Validate().ShouldContain(e => e.StartsWith(key + " "));
    }

    [Fact]
    public async Task A_workspace_from_before_uids_owned_by_10001_is_copied_into_files_of_the_agents_own_uid()
    {
        if (!WorkspaceFiles.CanChangeOwner)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") throw new InvalidOperationException("this test needs root; CI runs as root");
            return;
        }
        await using var world = new CycleWorld();
        var path = world.Workspaces.PathOf("alpha");
        Directory.CreateDirectory(Path.Combine(path, "notes"));
        await File.WriteAllTextAsync(Path.Combine(path, "notes", "memory.txt"), "what alpha learned");
        WorkspaceFiles.GiveTreeTo(path, 10001, TreeLimits.Default);

        world.Workspaces.Prepare("alpha", null, 200_123);

        WorkspaceFiles.OwnerOf(path).ShouldBe(200_123);
        WorkspaceFiles.OwnerOf(Path.Combine(path, "notes")).ShouldBe(200_123);
        WorkspaceFiles.OwnerOf(Path.Combine(path, "notes", "memory.txt")).ShouldBe(200_123);
        (await File.ReadAllTextAsync(Path.Combine(path, "notes", "memory.txt"))).ShouldBe("what alpha learned");
        Directory.EnumerateFileSystemEntries(world.Workspaces.Root).Select(Path.GetFileName).ShouldBe(["alpha"], "no copy is left beside it");
    }

    [Fact]
    public async Task Each_agent_runs_as_its_own_uid_and_its_context_is_its_alone()
    {
        await using var world = new CycleWorld();
        await world.AddAgentAsync("alpha", 1_000);
        await world.AddAgentAsync("beta", 1_000);
        await world.BidAsync("alpha", 1, ResourceBundle.Create(250, 96), 50);
        await world.BidAsync("beta", 1, ResourceBundle.Create(250, 96), 50);
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, (int Uid, int? ContextOwner, UnixFileMode ContextMode, int? WorkspaceOwner, UnixFileMode WorkspaceMode)>();
        world.Sandbox.Behaviour = request =>
        {
            seen[request.AgentId] = (request.Uid, WorkspaceFiles.OwnerOf(request.ContextFolder!), File.GetUnixFileMode(request.ContextFolder!),
                WorkspaceFiles.OwnerOf(request.Workspace), File.GetUnixFileMode(request.Workspace));
            var now = DateTimeOffset.UtcNow;
            return Task.FromResult(new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "fake", now, now, null, []));
        };

        await world.Cycle.RunAsync(1, default);

        seen["alpha"].Uid.ShouldNotBe(seen["beta"].Uid);
        seen.Values.ShouldAllBe(v => v.Uid >= 200_000);
        var stored = await world.QueryAsync(db => db.Set<AgentUidRecord>().ToDictionaryAsync(u => u.AgentId, u => u.Uid));
        stored["alpha"].ShouldBe(seen["alpha"].Uid);
        if (WorkspaceFiles.CanChangeOwner)
        {
            foreach (var v in seen.Values)
            {
                v.ContextOwner.ShouldBe(v.Uid);
                v.ContextMode.ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserExecute);
                v.WorkspaceOwner.ShouldBe(v.Uid);
                v.WorkspaceMode.ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        else if (Environment.GetEnvironmentVariable("CI") == "true")
            throw new InvalidOperationException("the ownership half of this test needs root; CI runs as root");
    }
}
