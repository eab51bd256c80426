using CyAgents.Contracts;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// Issue 10's acceptance on the real engine: the Python template (workspaces/python-agent) as the first agent, in the
/// python runtime with the SDK on its PYTHONPATH. It runs three cycles, bids through the SDK, asks the human once, and
/// spawns a Python child (a copy of its own workspace) that bids and runs too.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class PythonAgentTests(DockerFixture docker)
{
    [Fact]
    public async Task A_python_agent_from_the_template_runs_three_cycles_bids_asks_and_spawns_a_python_child_that_runs_too()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "python-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root) with { ApiUrls = $"http://127.0.0.1:{Live.FreePort()}" };
        // The run's first agent comes from the Python template instead of Genesis's.
        foreach (var file in Directory.EnumerateFiles(settings.WorkspaceTemplate)) File.Delete(file);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(AgentImage.FindSourceRoot(), "workspaces", "python-agent")))
            File.Copy(file, Path.Combine(settings.WorkspaceTemplate, Path.GetFileName(file)));

        var first = settings.Live!.Genesis.AgentId;
        var journals = new Dictionary<string, string>();
        WorkspaceHistoryPage history;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            var reports = await economy.RunCyclesAsync(4, TimeSpan.Zero);
            reports.ShouldAllBe(r => r.Conservation.Holds);
            // Read while the run's host still has the workspaces mounted (each is a file system of its own, ADR 0073).
            await using var live = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
            foreach (var id in await live.Set<AgentRecord>().Select(a => a.Id).ToListAsync())
            {
                var path = Path.Combine(settings.WorkspacesRoot, id, "journal.txt");
                if (File.Exists(path)) journals[id] = await File.ReadAllTextAsync(path);
            }
            // The operator token is accepted on the loopback listener only (ADR 0083).
            var operatorToken = (await File.ReadAllTextAsync(Path.Combine(settings.DataDirectory, "operator.token"))).Trim();
            using var http = new HttpClient { BaseAddress = new Uri(settings.ApiUrls) };
            history = await new SystemApiClient(http, operatorToken).GetHistoryAsync(first, take: 50);
        }

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        (await db.Set<AgentRecord>().SingleAsync(a => a.Id == first)).ManifestJson.ShouldNotBeNull().ShouldContain("\"python\"");
        var runs = await db.Set<ExecutionRecord>().Where(e => e.AgentId == first).OrderBy(e => e.Cycle).ToListAsync();
        runs.Count.ShouldBeGreaterThanOrEqualTo(3, "it wins every cycle: its bid is a share of a large balance");
        var agentLines = string.Join("\n", (await File.ReadAllLinesAsync(settings.Log)).Where(l => l.Contains("\"Component\":\"Agent:")).Take(40));
        runs.ShouldAllBe(e => e.Status == ExecutionStatus.Succeeded && e.ExitCode == 0,
            string.Join("; ", runs.Select(e => $"cycle {e.Cycle}: {e.Status} exit {e.ExitCode} {e.Error}")) + "\n" + agentLines);

        // Bids through the SDK (entry bids are the orchestrator's), one per execution thanks to the derived key.
        var sdkBids = await db.Set<BidRecord>().Where(b => b.AgentId == first && !b.Id.StartsWith("entry-")).ToListAsync();
        sdkBids.Count.ShouldBe(runs.Count);
        // Asked the human once, however many times it ran.
        (await db.Set<PromptRecord>().CountAsync(p => p.AgentId == first)).ShouldBe(1);

        // The child: created by the SDK's spawn, a Python agent too, which bid and ran in a later cycle.
        var child = await db.Set<AgentRecord>().SingleAsync(a => a.ParentId == first);
        child.ManifestJson.ShouldNotBeNull().ShouldContain("\"python\"");
        (await db.Set<BidRecord>().CountAsync(b => b.AgentId == child.Id && !b.Id.StartsWith("entry-"))).ShouldBeGreaterThan(0);
        var childRuns = await db.Set<ExecutionRecord>().Where(e => e.AgentId == child.Id).ToListAsync();
        childRuns.ShouldNotBeEmpty();
        childRuns.ShouldAllBe(e => e.Status == ExecutionStatus.Succeeded && e.Cycle > runs[0].Cycle,
            string.Join("; ", childRuns.Select(e => $"cycle {e.Cycle}: {e.Status} exit {e.ExitCode} {e.Error}")) + "\n" + agentLines);
        (await db.Set<AgentRecord>().CountAsync(a => a.ParentId == child.Id)).ShouldBe(0, "a child only bids");

        // The journals in the workspaces: the child runs its parent's code and knows it is a child.
        journals[first].ShouldContain($"spawned {child.Id}");
        journals[first].ShouldContain("asked the human");
        journals[child.Id].ShouldContain("(child)");

        // Its workspace history: one commit per execution, newest first, each with the execution's outcome (issue 10 item 6).
        history.Total.ShouldBe(runs.Count);
        history.Items.Select(c => c.ExecutionId).ShouldBe(runs.Select(e => e.Id).Reverse());
        history.Items.ShouldAllBe(c => c.Status == "Succeeded" && !c.Truncated);

        (await new EfLedger(db).CheckConservationAsync()).Holds.ShouldBeTrue();
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }
}
