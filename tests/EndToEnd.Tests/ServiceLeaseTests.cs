using System.Collections.Concurrent;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Hosting;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// Service agents' leases on the real engine (ADR 0137): a service that keeps winning keeps its container, which is resized in
/// place to each new bundle and handed each window's new context; when it loses it is preempted with SIGTERM and a grace,
/// and one that ignores SIGTERM is killed when the grace is over. A job agent beside them runs as it always did.
/// </summary>
[Collection(DockerCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServiceLeaseTests(DockerFixture docker)
{
    private const string Service = "service-1";
    private const string Stubborn = "stubborn-1";
    private const string Job = "job-1";

    // Prints the execution it serves whenever env.json names a new one; exits 0 on SIGTERM.
    private const string Serve = """
        trap 'echo "got SIGTERM"; exit 0' TERM
        last=""
        while true; do
          id=$(grep -o '"executionId": *"[^"]*"' "$CYAGENTS_ENV")
          if [ "$id" != "$last" ]; then echo "serving $id"; last="$id"; fi
          sleep 0.2
        done
        """;

    // The hostile service: notes SIGTERM and carries on.
    private const string IgnoreTerm = """
        trap 'echo "ignoring SIGTERM"' TERM
        echo "stubborn up"
        while true; do sleep 0.2; done
        """;

    [Fact]
    public async Task A_service_keeps_its_container_resized_in_place_while_it_wins_and_is_preempted_when_it_loses_a_job_is_unchanged()
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "lease-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        var settings = Live.Settings(root, new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(4) }) with
        {
            SandboxDecorator = inner => new Recording(inner, outcomes),
        };
        var first = ResourceBundle.Create(200, 64);
        var second = ResourceBundle.Create(300, 96);
        ContainerInspect afterFirst, afterSecond;
        IReadOnlyList<LeaseView> heldAfterSecond;
        var reports = new List<CycleReport>();
        TimeSpan grace;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            grace = economy.Services.GetRequiredService<SandboxOptions>().StopGrace;
            await AddAsync(economy, Service, image, Serve, AgentKind.Service);
            await AddAsync(economy, Stubborn, image, IgnoreTerm, AgentKind.Service);
            await AddAsync(economy, Job, image, Serve, AgentKind.Job);

            foreach (var agent in new[] { Service, Stubborn, Job }) await HostileAgent.BidAsync(economy, agent, 1, first, 60);
            reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            afterFirst = (await docker.Engine.InspectContainerAsync(Record(reports[0], Service).ContainerId!))!;

            await HostileAgent.BidAsync(economy, Service, 2, second, 60);
            await HostileAgent.BidAsync(economy, Stubborn, 2, first, 60);
            await HostileAgent.BidAsync(economy, Job, 2, second, 60);
            reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            afterSecond = (await docker.Engine.InspectContainerAsync(Record(reports[1], Service).ContainerId!))!;
            heldAfterSecond = economy.Sandbox.Leases;

            // Cycle 3: only the job bids; both services lose.
            await HostileAgent.BidAsync(economy, Job, 3, first, 60);
            reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            economy.Sandbox.Leases.ShouldBeEmpty();
        }
        reports.ShouldAllBe(r => r.Conservation.Holds);

        // Two wins, one container: the second window ran in the first's container, resized in place and given its new context.
        var c1 = Record(reports[0], Service);
        var c2 = Record(reports[1], Service);
        c1.Status.ShouldBe(ExecutionStatus.Leased);
        c2.Status.ShouldBe(ExecutionStatus.Leased);
        c2.ContainerId.ShouldBe(c1.ContainerId);
        afterFirst.State.Running.ShouldBeTrue();
        afterFirst.HostConfig.NanoCpus.ShouldBe(200_000_000);
        afterFirst.HostConfig.Memory.ShouldBe(64L * 1024 * 1024);
        afterSecond.Id.ShouldBe(afterFirst.Id);
        afterSecond.State.Running.ShouldBeTrue();
        afterSecond.State.StartedAt.ShouldBe(afterFirst.State.StartedAt); // never restarted
        afterSecond.HostConfig.NanoCpus.ShouldBe(300_000_000);
        afterSecond.HostConfig.Memory.ShouldBe(96L * 1024 * 1024);
        afterSecond.HostConfig.MemorySwap.ShouldBe(96L * 1024 * 1024);
        heldAfterSecond.Select(l => l.AgentId).ShouldBe([Service, Stubborn]);
        heldAfterSecond.Single(l => l.AgentId == Service).Bundle.ShouldBe(second);
        Lines(outcomes[c1.Id]).ShouldContain($"serving \"executionId\": \"{c1.Id}\"");
        Lines(outcomes[c2.Id]).ShouldContain($"serving \"executionId\": \"{c2.Id}\"");

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var events = await db.Set<EventRecord>().Where(e => e.AgentId == Service || e.AgentId == Stubborn).OrderBy(e => e.Seq).ToListAsync();
        var resized = events.Single(e => e.Type == EventTypes.ExecutionResized);
        resized.AgentId.ShouldBe(Service);
        resized.Cycle.ShouldBe(2);
        resized.Data.ShouldContain(c2.Id);
        resized.Data.ShouldContain(c1.ContainerId!);

        // The loss in cycle 3 preempted it: SIGTERM, its own clean exit, status Preempted; nothing was refunded.
        var ended = await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == c2.Id);
        ended.Status.ShouldBe(ExecutionStatus.Preempted);
        ended.ExitCode.ShouldBe(0);
        ended.Error.ShouldNotBeNull().ShouldContain("won no bundle in cycle 3");
        events.ShouldContain(e => e.Type == EventTypes.ExecutionPreempted && e.AgentId == Service && e.Cycle == 3 && e.Data.Contains(c2.Id));
        events.ShouldContain(e => e.Type == EventTypes.ExecutionOutput && e.AgentId == Service && e.Data.Contains("got SIGTERM"));
        (await db.Set<ExecutionRecord>().CountAsync(e => e.AgentId == Service)).ShouldBe(2);
        (await db.Set<LedgerTransferRecord>().CountAsync(t => t.CreditAccountId == AccountIds.ForAgent(Service) && t.Kind == TransferKind.Refund)).ShouldBe(0);

        // Hostile: the service that ignores SIGTERM is killed once the grace is over.
        var stubborn = await db.Set<ExecutionRecord>().SingleAsync(e => e.AgentId == Stubborn && e.Cycle == 2);
        stubborn.Status.ShouldBe(ExecutionStatus.Preempted);
        stubborn.ExitCode.ShouldBe(137);
        var cycle3 = await db.Set<CycleRecord>().SingleAsync(c => c.Number == 3);
        (stubborn.EndedAt!.Value - cycle3.StartedAt).ShouldBeGreaterThanOrEqualTo(grace);
        events.ShouldContain(e => e.Type == EventTypes.ExecutionOutput && e.AgentId == Stubborn && e.Data.Contains("ignoring SIGTERM"));

        // The job beside them: a fresh container each cycle, stopped at each window's end, never a lease.
        var jobs = await db.Set<ExecutionRecord>().Where(e => e.AgentId == Job).OrderBy(e => e.Cycle).ToListAsync();
        jobs.Count.ShouldBe(3);
        jobs.ShouldAllBe(e => e.Status == ExecutionStatus.TimedOut);
        jobs.Select(e => e.ContainerId).Distinct().Count().ShouldBe(3);
        Lines(outcomes[jobs[1].Id]).ShouldContain("got SIGTERM");
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }

    // Holds about 40 MiB of heap in its first container (a marker in the workspace says it did), none in a later one.
    private const string Hog = """
        trap 'echo "got SIGTERM"; exit 0' TERM
        if [ ! -e /workspace/hogged ]; then touch /workspace/hogged; x=$(head -c 41943040 /dev/zero | tr '\0' a); echo "holding ${#x} bytes"; else echo "light start"; fi
        while true; do sleep 0.2; done
        """;

    [Fact]
    public async Task A_next_bundle_below_the_memory_the_lease_uses_preempts_it_and_the_window_runs_in_a_fresh_container_with_the_bundle_won()
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "lease-shrink-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var outcomes = new ConcurrentDictionary<string, ExecutionOutcome>();
        var settings = Live.Settings(root, new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(5) }) with
        {
            SandboxDecorator = inner => new Recording(inner, outcomes),
        };
        var reports = new List<CycleReport>();
        ContainerInspect fresh;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            await AddAsync(economy, Service, image, Hog, AgentKind.Service);
            await HostileAgent.BidAsync(economy, Service, 1, ResourceBundle.Create(200, 128), 60);
            reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            await HostileAgent.BidAsync(economy, Service, 2, ResourceBundle.Create(200, 16), 60);
            reports.AddRange(await economy.RunCyclesAsync(1, TimeSpan.Zero));
            fresh = (await docker.Engine.InspectContainerAsync(Record(reports[1], Service).ContainerId!))!;
        }

        var c1 = Record(reports[0], Service);
        var c2 = Record(reports[1], Service);
        Lines(outcomes[c1.Id]).ShouldContain("holding 41943040 bytes");
        c2.Status.ShouldBe(ExecutionStatus.Leased);
        c2.ContainerId.ShouldNotBe(c1.ContainerId);
        fresh.HostConfig.Memory.ShouldBe(16L * 1024 * 1024);
        Lines(outcomes[c2.Id]).ShouldContain("light start");

        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var first = await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == c1.Id);
        first.Status.ShouldBe(ExecutionStatus.Preempted);
        first.Error.ShouldNotBeNull().ShouldContain("could not be applied to the running container");
        first.Error.ShouldContain(c2.Id);
        (await db.Set<EventRecord>().CountAsync(e => e.Type == EventTypes.ExecutionResized)).ShouldBe(0);
        // The host's stop ended the fresh lease the same way, with its own reason.
        var last = await db.Set<ExecutionRecord>().SingleAsync(e => e.Id == c2.Id);
        last.Status.ShouldBe(ExecutionStatus.Preempted);
        last.Error.ShouldNotBeNull().ShouldContain("orchestrator stopped");
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
    }

    [Fact]
    public async Task Recovery_after_a_restart_stops_a_lease_container_it_finds_running_with_sigterm_and_marks_its_record_preempted()
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "lease-recovery-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root, new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(3) });
        string containerId;
        RecoveryReport recovery;
        await using (var economy = await LiveEconomy.StartAsync(settings))
        {
            await AddAsync(economy, Service, image, Serve, AgentKind.Service);
            await HostileAgent.BidAsync(economy, Service, 1, ResourceBundle.Create(200, 64), 60);
            var report = (await economy.RunCyclesAsync(1, TimeSpan.Zero)).Single();
            containerId = Record(report, Service).ContainerId!;
            (await docker.Engine.InspectContainerAsync(containerId))!.State.Running.ShouldBeTrue();
            // What a restart after a crash between windows finds: the lease's container running, its record Leased.
            recovery = await economy.Recovery.RepairAsync(CancellationToken.None);
        }

        recovery.ContainersRemoved.ShouldBe(1);
        recovery.Conservation.Holds.ShouldBeTrue();
        (await docker.Engine.InspectContainerAsync(containerId)).ShouldBeNull();
        await using var db = new CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var record = await db.Set<ExecutionRecord>().SingleAsync(e => e.AgentId == Service);
        record.Status.ShouldBe(ExecutionStatus.Preempted);
        record.Error.ShouldNotBeNull().ShouldContain("between its windows");
        // Its window was served: a lease stopped by recovery is not refunded like an abandoned execution.
        (await db.Set<LedgerTransferRecord>().CountAsync(t => t.CreditAccountId == AccountIds.ForAgent(Service) && t.Kind == TransferKind.Refund)).ShouldBe(0);
        (await db.Set<EventRecord>().CountAsync(e => e.Type == EventTypes.ExecutionPreempted && e.AgentId == Service)).ShouldBe(1);
        (await db.Set<EventRecord>().CountAsync(e => e.Type == EventTypes.ExecutionOutput && e.AgentId == Service && e.Data.Contains("got SIGTERM"))).ShouldBe(1);
    }

    private static ExecutionRecord Record(CycleReport report, string agentId) => report.Executions.Single(e => e.AgentId == agentId);

    private static List<string> Lines(ExecutionOutcome outcome) => outcome.Logs.Select(l => l.Text).ToList();

    /// <summary>Creates a busybox agent with a stored manifest of the given kind, and credits.</summary>
    private static async Task AddAsync(LiveEconomy economy, string id, string image, string script, AgentKind kind)
    {
        var databases = economy.Services.GetRequiredService<IDbContextFactory<CyAgentsDbContext>>();
        var ledgers = economy.Services.GetRequiredService<LedgerBinding>();
        await using var db = await databases.CreateDbContextAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        var ledger = ledgers(db);
        await ledger.OpenAccountAsync(AccountIds.ForAgent(id), AccountKind.Agent);
        await ledger.TransferAsync(new TransferRequest($"{id}:endowment", AccountIds.Treasury, AccountIds.ForAgent(id), 10_000,
            TransferKind.Endowment, Memo: "lease test agent"));
        var manifest = new AgentManifest(null, image, ["/bin/sh", "-c", script], new Dictionary<string, string>(), null, kind);
        db.Add(new AgentRecord { Id = id, Name = id, RootId = id, CreatedAt = DateTimeOffset.UtcNow, ManifestJson = AgentManifestReader.Write(manifest) });
        await db.SaveChangesAsync();
        await tx.CommitAsync();
    }

    private sealed class Recording(ISandbox inner, ConcurrentDictionary<string, ExecutionOutcome> outcomes) : ISandbox
    {
        public async Task<ExecutionOutcome> RunAsync(ExecutionRequest request, CancellationToken ct)
        {
            var outcome = await inner.RunAsync(request, ct);
            outcomes[request.ExecutionId] = outcome;
            return outcome;
        }
    }
}
