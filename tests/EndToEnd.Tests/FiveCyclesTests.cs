using System.Collections.Concurrent;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>Five live cycles from an empty database on the real engine, with the real API, ledger and GenesisAgent.</summary>
[Collection(DockerCollection.Name)]
public sealed class FiveCyclesTests(DockerFixture docker)
{
    [Fact]
    public async Task Genesis_wins_cycle_one_spawns_a_child_that_bids_and_runs_and_the_ledger_holds_throughout()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "five-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root);
        var inspects = new ConcurrentDictionary<string, ContainerInspect>();

        IReadOnlyList<CycleReport> reports;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            economy.Sandbox.OnExited = inspect =>
            {
                inspects[inspect.Config.Labels![DockerSandbox.ExecutionLabel]] = inspect;
                return Task.CompletedTask;
            };
            reports = await economy.RunCyclesAsync(5, TimeSpan.Zero);
        }

        reports.Count.ShouldBe(5);
        reports.ShouldAllBe(r => r.Conservation.Holds);
        var genesis = settings.Live!.Genesis.AgentId;
        reports[0].Winners.ShouldHaveSingleItem().AgentId.ShouldBe(genesis);

        // Its container had exactly the won caps and the hardening.
        var first = reports[0].Executions.ShouldHaveSingleItem();
        var inspect = inspects[first.Id];
        var won = reports[0].Winners[0].Bundle;
        inspect.HostConfig.Memory.ShouldBe(won.MemoryMiB * 1024 * 1024);
        inspect.HostConfig.MemorySwap.ShouldBe(won.MemoryMiB * 1024 * 1024);
        inspect.HostConfig.NanoCpus.ShouldBe(won.CpuMillicores * 1_000_000);
        inspect.HostConfig.PidsLimit.ShouldBe(64);
        inspect.HostConfig.ReadonlyRootfs.ShouldBeTrue();
        inspect.HostConfig.Tmpfs.ShouldNotBeNull().Keys.ShouldBe(["/tmp"]);
        inspect.HostConfig.CapDrop.ShouldBe(["ALL"]);
        inspect.HostConfig.SecurityOpt.ShouldNotBeNull().ShouldContain("no-new-privileges");
        inspect.HostConfig.SecurityOpt.ShouldContain(o => o.StartsWith("seccomp=") && o.Contains("io_uring_setup"));
        inspect.HostConfig.NetworkMode.ShouldBe("none");
        // Its own uid from Sandbox:UidRange (ADR 0071), not the image's 10001.
        inspect.Config.User.ShouldNotBeNull().ShouldMatch(@"^2\d{5}:2\d{5}$");
        inspect.Mounts.Select(m => (m.Destination, m.RW)).OrderBy(m => m.Destination)
            .ShouldBe([("/run/cyagents", false), ("/run/cyagents-env", false), ("/workspace", true)]);
        inspect.Config.Labels![DockerSandbox.AgentLabel].ShouldBe(genesis);
        inspect.Config.Labels![DockerSandbox.CycleLabel].ShouldBe("1");
        inspect.Config.Labels![DockerSandbox.ManagedLabel].ShouldBe(SandboxOptions.InstanceOf(settings.Database));

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        // Genesis bid through the API (not only its entry bid) and spawned a child.
        (await db.Set<BidRecord>().CountAsync(b => b.AgentId == genesis && !b.Id.StartsWith("entry-"))).ShouldBeGreaterThan(0);
        var child = await db.Set<AgentRecord>().SingleAsync(a => a.ParentId == genesis);
        // The child bid through the API and ran in a later cycle.
        (await db.Set<BidRecord>().CountAsync(b => b.AgentId == child.Id && !b.Id.StartsWith("entry-"))).ShouldBeGreaterThan(0);
        var childRuns = await db.Set<ExecutionRecord>().Where(e => e.AgentId == child.Id).ToListAsync();
        childRuns.ShouldNotBeEmpty();
        childRuns.ShouldAllBe(e => e.Cycle > 1 && e.Status == ExecutionStatus.Succeeded);

        // Executions, transactions and system.log lines exist for each agent.
        var executions = await db.Set<ExecutionRecord>().ToListAsync();
        executions.ShouldAllBe(e => e.Status == ExecutionStatus.Succeeded && e.ExitCode == 0 && e.StartedAt != null && e.EndedAt != null);
        // Resource use as the host's cgroups report it while the container runs.
        executions.ShouldAllBe(e => e.PeakMemoryBytes > 0 && e.PeakMemoryBytes <= e.Granted.MemoryMiB * 1024 * 1024);
        executions.ShouldAllBe(e => e.CpuTimeNanos > 0);
        var ledger = new EfLedger(db);
        foreach (var agent in new[] { genesis, child.Id })
            (await ledger.GetTransfersAsync(AccountIds.ForAgent(agent), 0, 100)).ShouldNotBeEmpty();
        var log = await File.ReadAllLinesAsync(settings.Log);
        foreach (var execution in executions)
        {
            log.ShouldContain(l => l.Contains($"\"ExecutionId\":\"{execution.Id}\"") && l.Contains($"\"Component\":\"Agent:{execution.AgentId}\""));
            log.ShouldContain(l => l.Contains($"\"ExecutionId\":\"{execution.Id}\"") && l.Contains("\"Component\":\"Orchestrator\""));
        }
        log.ShouldContain(l => l.Contains("\"Component\":\"SystemApi\"") && l.Contains("placed for cycle"));

        // The invariant held after every cycle, and the cycles are on record.
        var cycles = await db.Set<CycleRecord>().OrderBy(c => c.Number).ToListAsync();
        cycles.Select(c => c.Number).ShouldBe([1L, 2, 3, 4, 5]);
        cycles.ShouldAllBe(c => c.Status == CycleStatus.Completed && c.InvariantHeld == true);
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }
}

/// <summary>Settings of a live run inside a test folder: its own database, socket, log and workspaces (template from the repository).</summary>
internal static class Live
{
    public static LiveSettings Settings(string root, LiveOptions? options = null)
    {
        var template = Directory.CreateDirectory(Path.Combine(root, "workspaces", "genesis")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(AgentImage.FindSourceRoot(), "workspaces", "genesis")))
            File.Copy(file, Path.Combine(template, Path.GetFileName(file)));
        return new LiveSettings
        {
            DataDirectory = Path.Combine(root, "data"),
            WorkspacesRoot = Path.Combine(root, "workspaces"),
            WorkspaceTemplate = template,
            ApiUrls = "",
            ConsoleLog = false,
            Live = options ?? new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(30) },
        };
    }

    public static DatabaseOptions Database(LiveSettings settings) => DatabaseOptions.ForSqliteFile(settings.Database);

    /// <summary>A loopback port free right now, for a run whose API a test calls over TCP (operator token, metrics).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
