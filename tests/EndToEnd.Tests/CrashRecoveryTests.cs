using System.Diagnostics;
using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>The orchestrator is SIGKILLed mid-cycle (as a child process) and started again.</summary>
[Collection(DockerCollection.Name)]
public sealed class CrashRecoveryTests(DockerFixture docker)
{
    [Fact]
    public async Task After_a_sigkill_mid_cycle_a_restart_leaves_no_orphan_containers_marks_the_executions_and_keeps_the_invariant()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "crash-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root);
        var template = Path.Combine(settings.WorkspaceTemplate, "strategy.json");
        var normal = await File.ReadAllTextAsync(template);
        // Genesis spins through its first execution, so the kill surely lands while its container runs.
        await File.WriteAllTextAsync(template, JsonSerializer.Serialize(new { bidFraction = 0.05, test = new { busyLoopSeconds = 120 } }));
        string[] Args(int cycles) =>
        [
            "run", "--data", settings.DataDirectory, "--workspaces", settings.WorkspacesRoot, "--api-urls", "", "--cycles", $"{cycles}",
            "--interval", "0s", "--window", "120s", "--quiet",
        ];

        using (var first = OrchestratorProcess.Start(Args(3)))
        {
            var running = await OrchestratorProcess.WaitForAsync(async () =>
            {
                if (!File.Exists(settings.Database)) return null;
                await using var db = Db(settings);
                try { return await db.Set<ExecutionRecord>().FirstOrDefaultAsync(e => e.Status == ExecutionStatus.Running); }
                catch (Microsoft.Data.Sqlite.SqliteException) { return null; } // schema not created yet
            }, first);
            await OrchestratorProcess.WaitForAsync(async () => (await docker.Engine.ListContainersAsync($"{DockerSandbox.ExecutionLabel}={running.Id}"))
                .FirstOrDefault(c => c.State == "running"), first);
            first.Kill(); // SIGKILL: no cleanup of any kind runs
            await first.WaitForExitAsync();
        }
        var orphans = await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)));
        orphans.ShouldNotBeEmpty(); // the dead orchestrator left its agent running

        await File.WriteAllTextAsync(Path.Combine(settings.WorkspacesRoot, "genesis-0", "strategy.json"), normal);
        using (var second = OrchestratorProcess.Start(Args(1)))
        {
            var exited = second.WaitForExitAsync();
            (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(3)))).ShouldBe(exited, "the restarted orchestrator did not finish");
            second.ExitCode.ShouldBe(0, await second.StandardError.ReadToEndAsync());
        }

        foreach (var orphan in orphans)
            (await docker.Engine.InspectContainerAsync(orphan.Id)).ShouldBeNull();
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
        await using (var db = Db(settings))
        {
            var interrupted = await db.Set<ExecutionRecord>().SingleAsync(e => e.Cycle == 1);
            interrupted.Status.ShouldBe(ExecutionStatus.Abandoned);
            interrupted.Error.ShouldNotBeNullOrEmpty();
            var cycles = await db.Set<CycleRecord>().OrderBy(c => c.Number).ToListAsync();
            cycles[0].Status.ShouldBe(CycleStatus.Interrupted);
            cycles[0].InvariantHeld.ShouldBe(true);
            cycles[^1].Status.ShouldBe(CycleStatus.Completed);
            cycles[^1].InvariantHeld.ShouldBe(true);
            (await new EfLedger(db).CheckConservationAsync()).Holds.ShouldBeTrue();
            (await db.Set<AgentTokenRecord>().CountAsync(t => t.ExecutionId == interrupted.Id && t.RevokedAt == null)).ShouldBe(0);
        }
    }

    [Fact]
    public async Task Recovery_removes_only_the_containers_of_its_own_instance()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "instance-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var database = DatabaseOptions.ForSqliteFile(Path.Combine(root, "cyagents.db"));
        await DatabaseSetup.EnsureCreatedAsync(database);
        var mine = SandboxOptions.InstanceOf(Path.Combine(root, "cyagents.db"));
        var theirs = SandboxOptions.InstanceOf(Path.Combine(root, "other.db"));
        async Task<string> LeftBehind(string instance) => await docker.Engine.CreateContainerAsync(new ContainerSpec
        {
            Image = docker.Image, NetworkDisabled = true,
            Labels = new Dictionary<string, string> { [DockerSandbox.ManagedLabel] = instance },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        var own = await LeftBehind(mine);
        var other = await LeftBehind(theirs);
        try
        {
            var recovery = new CrashRecovery(new Factory(database.BuildOptions()), db => new EfLedger(db), docker.Engine, new NoTokens(),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<CrashRecovery>.Instance, instance: mine);

            (await recovery.RepairAsync(CancellationToken.None)).ContainersRemoved.ShouldBe(1);

            (await docker.Engine.InspectContainerAsync(own)).ShouldBeNull();
            (await docker.Engine.InspectContainerAsync(other)).ShouldNotBeNull("another orchestrator's container must survive");
        }
        finally
        {
            await docker.Engine.RemoveContainerAsync(other);
        }
    }

    private sealed class Factory(DbContextOptions<CyAgentsDbContext> options) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext() => new(options);
    }

    private sealed class NoTokens : IExecutionTokens
    {
        public Task<string> IssueAsync(string agentId, string executionId, long cycle, CancellationToken ct) => Task.FromResult("t");
        public Task RevokeAsync(string executionId, CancellationToken ct) => Task.CompletedTask;
    }

    [Fact]
    public async Task Ctrl_c_stops_the_running_agents_finishes_the_cycles_bookkeeping_and_exits_zero()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "sigint-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root);
        await File.WriteAllTextAsync(Path.Combine(settings.WorkspaceTemplate, "strategy.json"),
            JsonSerializer.Serialize(new { bidFraction = 0.05, test = new { busyLoopSeconds = 120 } }));

        using var run = OrchestratorProcess.Start(["run", "--data", settings.DataDirectory, "--workspaces", settings.WorkspacesRoot, "--api-urls", "",
            "--interval", "0s", "--window", "120s", "--quiet"]);
        await OrchestratorProcess.WaitForAsync(async () => (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database))))
            .FirstOrDefault(c => c.State == "running"), run);
        using (var interrupt = Process.Start("kill", ["-INT", run.Id.ToString()])) await interrupt.WaitForExitAsync();
        var exited = run.WaitForExitAsync();
        (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(1)))).ShouldBe(exited, "Ctrl+C did not end the run");

        run.ExitCode.ShouldBe(0);
        (await docker.Engine.ListContainersAsync(DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database)))).ShouldBeEmpty();
        await using var db = Db(settings);
        var execution = await db.Set<ExecutionRecord>().SingleAsync();
        execution.Status.ShouldBe(ExecutionStatus.Abandoned);
        execution.Error.ShouldNotBeNull().ShouldContain("shut down");
        var cycle = await db.Set<CycleRecord>().SingleAsync();
        cycle.Status.ShouldBe(CycleStatus.Completed);
        cycle.InvariantHeld.ShouldBe(true);
    }

    private static CyAgentsDbContext Db(Orchestrator.Hosting.LiveSettings settings) => new(Live.Database(settings).BuildOptions());
}
