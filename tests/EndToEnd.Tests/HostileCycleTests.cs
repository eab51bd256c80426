using System.Collections.Concurrent;
using System.Security.Cryptography;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The hostile agent inside live cycles, beside Genesis, on the real engine: it plants links to host files, to Genesis's
/// workspace and to the template, a FIFO where env.json used to be, link loops and many files, then runs again (so the host
/// prepares its poisoned workspace and delivers a context), then floods its output, then fills its workspace. The host files stay as they were,
/// Genesis runs every cycle, and every cycle completes with the ledger intact.
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Hostile")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostileCycleTests(DockerFixture docker)
{
    private const string Hostile = "hostile-1";

    private sealed record Snapshot(string Hash, UnixFileMode Mode, int? Owner);

    private static Snapshot Take(string path) => new(
        Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))), File.GetUnixFileMode(path), WorkspaceFiles.OwnerOf(path));

    [Fact]
    public async Task Links_fifos_loops_many_files_and_a_flood_are_contained_and_the_cycle_goes_on_for_genesis()
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "hostile-cycle-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var secret = Path.Combine(root, "host-secret");
        await File.WriteAllTextAsync(secret, "root's secret");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var settings = Live.Settings(root, new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(30) });
        var genesisWorkspace = Path.Combine(settings.WorkspacesRoot, settings.Live!.Genesis.AgentId);
        var templateStrategy = Path.Combine(settings.WorkspaceTemplate, "strategy.json");

        var plant = $"""
            cd /workspace
            mkfifo env.json && echo planted fifo
            ln -s {secret} journal; ln -s {secret} strategy.json; ln -s {secret} memory.json
            ln -s {genesisWorkspace} neighbour; ln -s {settings.WorkspaceTemplate} template; ln -s / hostroot
            ln -s loop-b loop-a; ln -s loop-a loop-b; ln -s . self
            mkdir -p deep/er && ln -s {secret} deep/er/secret && ln -s {genesisWorkspace}/strategy.json deep/er/theirs
            seq 1 3000 | xargs touch && echo planted many
            cat "$CYAGENTS_ENV" | grep -q executionId && echo "env: readable at $CYAGENTS_ENV"
            (echo x > "$CYAGENTS_ENV") 2>/dev/null && echo "env: WRITABLE" || echo "env: read-only"
            rm -f "$CYAGENTS_ENV" 2>/dev/null; [ -e "$CYAGENTS_ENV" ] && echo "env: not removable" || echo "env: REMOVED"
            ln -s {secret} /run/cyagents-env/evil 2>/dev/null && echo "context: WRITABLE" || echo "context: read-only"
            cat {secret} 2>/dev/null || echo "secret: unreachable"
            echo planted
            """;
        var again = """
            cd /workspace
            [ -p env.json ] && echo "fifo still here"
            ls -A | wc -l
            grep -o '"executionId": "[^"]*"' "$CYAGENTS_ENV"
            echo again
            """;
        const string fill = "dd if=/dev/zero of=/workspace/fill bs=1M count=400; echo dd=$?; sleep 60";
        const string flood = "echo flooding; head -c 209715200 /dev/zero | tr '\\0' A; echo; echo flooded";
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        settings = settings with
        {
            SandboxDecorator = HostileAgent.As(Hostile, image, cycle => cycle switch { 1 => plant, 2 => again, 3 => flood, _ => fill }, outcomes),
        };

        IReadOnlyList<CycleReport> reports;
        Snapshot secretBefore, templateBefore;
        Snapshot? genesisStrategyBefore = null;
        int? genesisOwner = null;
        var started = DateTimeOffset.UtcNow;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            await HostileAgent.AddAsync(economy, Hostile, 10_000);
            secretBefore = Take(secret);
            templateBefore = Take(templateStrategy);
            var list = new List<CycleReport>();
            list.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero)); // entry bids: Genesis and the hostile agent both run
            genesisStrategyBefore = Take(Path.Combine(genesisWorkspace, "strategy.json"));
            genesisOwner = WorkspaceFiles.OwnerOf(genesisWorkspace);
            for (var cycle = 2; cycle <= 4; cycle++)
            {
                await HostileAgent.BidAsync(economy, Hostile, cycle, ResourceBundle.Create(250, 64), 50);
                list.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            }
            reports = list;
            // While the host runs, the workspaces are mounted (ADR 0073): check the neighbour now.
            Take(Path.Combine(genesisWorkspace, "strategy.json")).ShouldBe(genesisStrategyBefore);
            WorkspaceFiles.OwnerOf(genesisWorkspace).ShouldBe(genesisOwner);
        }

        // Every cycle completed with the ledger intact, and Genesis ran (and succeeded) in each.
        reports.Count.ShouldBe(4);
        reports.ShouldAllBe(r => r.Conservation.Holds);
        foreach (var report in reports)
        {
            report.Executions.ShouldContain(e => e.AgentId == settings.Live.Genesis.AgentId && e.Status == ExecutionStatus.Succeeded);
            report.Executions.ShouldContain(e => e.AgentId == Hostile);
        }

        // The host's files, the template and the neighbour are untouched: nothing followed the links.
        Take(secret).ShouldBe(secretBefore);
        Take(templateStrategy).ShouldBe(templateBefore);

        ExecutionOutcome Of(long cycle) => outcomes.Single(o => o.Key.StartsWith($"c{cycle}-", StringComparison.Ordinal)).Value;
        string Output(long cycle) => string.Join("\n", Of(cycle).Logs.Select(l => l.Text));

        var planted = Output(1);
        planted.ShouldContain("planted fifo");
        planted.ShouldContain("planted many");
        planted.ShouldContain("env: readable at /run/cyagents-env/env.json");
        planted.ShouldContain("env: read-only");
        planted.ShouldContain("env: not removable");
        planted.ShouldContain("context: read-only");
        planted.ShouldContain("secret: unreachable");
        planted.ShouldNotContain("root's secret");
        planted.ShouldContain("planted");

        // The second run found its poisoned workspace as it left it and got a fresh context of its own.
        var second = Output(2);
        second.ShouldContain("fifo still here");
        second.ShouldContain("again");
        var secondExecution = reports[1].Executions.Single(e => e.AgentId == Hostile);
        second.ShouldContain($"\"executionId\": \"{secondExecution.Id}\"");

        // The flood: capped, counted once, and the cycle ended within its window.
        var flooded = Of(3);
        flooded.OutputBytesDropped.ShouldBeGreaterThanOrEqualTo(209_715_200L - 1024 * 1024); // all but the default 1 MiB budget
        reports[2].Elapsed.ShouldBeLessThan(settings.Live.ExecutionWindow + TimeSpan.FromSeconds(20));
        var log = await File.ReadAllLinesAsync(settings.Log);
        log.Count(l => l.Contains("truncated") && l.Contains(reports[2].Executions.Single(e => e.AgentId == Hostile).Id)).ShouldBe(1);
        new FileInfo(settings.Log).Length.ShouldBeLessThan(16L * 1024 * 1024);
        (DateTimeOffset.UtcNow - started).ShouldBeLessThan(TimeSpan.FromMinutes(4));

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        (await db.Set<CycleRecord>().CountAsync(c => c.Status == CycleStatus.Completed)).ShouldBe(4);
        // Filling the 256 MiB workspace ended that execution on its own status, well before its window.
        var filled = await db.Set<ExecutionRecord>().SingleAsync(e => e.AgentId == Hostile && e.Cycle == 4);
        filled.Status.ShouldBe(ExecutionStatus.QuotaExceeded);
        filled.Error.ShouldNotBeNull().ShouldContain("quota of 256 MiB");
        (filled.EndedAt!.Value - filled.StartedAt!.Value).ShouldBeLessThan(settings.Live.ExecutionWindow);
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }
}
