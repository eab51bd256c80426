using System.Diagnostics;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Tests.Faults;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// Issue 15's acceptance on the real engine: the orchestrator is killed with SIGKILL at seeded random moments of live cycles (0–4 s after a new cycle began),
/// again and again; after each kill a restart recovers and runs a cycle, an independent audit recomputes every balance from the
/// transfer rows, no container of this instance is left, and the cycle clears bids again. <c>CYAGENTS_KILL_SEED</c> replays a run.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed class RepeatedKillTests(DockerFixture docker, ITestOutputHelper output)
{
    private const int Kills = 5;

    [Fact]
    public async Task Five_kill_9s_at_seeded_random_moments_of_live_cycles_each_followed_by_a_restart_leave_whole_books_no_containers_and_bids_clearing()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CYAGENTS_KILL_SEED"), out var s) ? s : Environment.TickCount & 0x7fffffff;
        output.WriteLine($"seed {seed} (replay with CYAGENTS_KILL_SEED={seed})");
        var random = new Random(seed);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "kills-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root);
        var instance = DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database));
        string[] Args(int cycles) =>
        [
            "run", "--data", settings.DataDirectory, "--workspaces", settings.WorkspacesRoot, "--api-urls", "", "--cycles", $"{cycles}",
            "--interval", "0s", "--window", "30s", "--quiet",
        ];
        // The first start creates the database and Genesis: a kill is for a running economy, not a half-made first start.
        await RunToEndAsync(Args(1));

        for (var round = 1; round <= Kills; round++)
        {
            // The random moment counts from the run's first new cycle, so it lands inside live cycles (clearing, settling,
            // an agent running, collecting, between cycles), not in the process's start-up.
            var delay = TimeSpan.FromMilliseconds(random.Next(0, 4000));
            var started = await CycleCountAsync(settings);
            using (var run = OrchestratorProcess.Start(Args(1000)))
            {
                await OrchestratorProcess.WaitForAsync(async () => await CycleCountAsync(settings) > started ? "cycling" : null, run);
                await Task.Delay(delay);
                run.HasExited.ShouldBeFalse($"round {round}: the run ended by itself before its kill: {(run.HasExited ? await run.StandardError.ReadToEndAsync() : "")}");
                run.Kill(); // SIGKILL: nothing of the orchestrator's own cleanup runs
                await run.WaitForExitAsync();
            }
            var cyclesBefore = await CycleCountAsync(settings);
            await using (var probe = new CyAgents.Persistence.CyAgentsDbContext(Live.Database(settings).BuildOptions()))
            {
                var cut = await probe.Set<CycleRecord>().OrderByDescending(c => c.Number).FirstAsync();
                var running = await probe.Set<ExecutionRecord>().Where(e => e.Cycle == cut.Number).Select(e => e.Status).ToListAsync();
                output.WriteLine($"round {round}: killed {delay.TotalMilliseconds:0} ms into cycle {cut.Number}, left {cut.Status}, executions [{string.Join(", ", running)}]");
            }

            await RunToEndAsync(Args(1));

            var problems = await LedgerAudit.RunAsync(settings.Database);
            problems.ShouldBeEmpty($"round {round} (seed {seed}): {string.Join("; ", problems)}");
            (await docker.Engine.ListContainersAsync(instance)).ShouldBeEmpty($"round {round} (seed {seed}): containers left");
            await using var db = new CyAgents.Persistence.CyAgentsDbContext(Live.Database(settings).BuildOptions());
            var last = await db.Set<CycleRecord>().OrderByDescending(c => c.Number).FirstAsync();
            last.Number.ShouldBeGreaterThan(cyclesBefore, $"round {round}: the restart ran no cycle");
            last.Status.ShouldBe(CycleStatus.Completed);
            last.InvariantHeld.ShouldBe(true);
            last.BidCount.ShouldBeGreaterThan(0, $"round {round} (seed {seed}): the cycle after the restart cleared no bid");
        }
    }

    private static async Task<long> CycleCountAsync(Orchestrator.Hosting.LiveSettings settings)
    {
        if (!File.Exists(settings.Database)) return 0;
        await using var db = new CyAgents.Persistence.CyAgentsDbContext(Live.Database(settings).BuildOptions());
        return await db.Set<CycleRecord>().MaxAsync(c => (long?)c.Number) ?? 0;
    }

    private static async Task RunToEndAsync(string[] args)
    {
        using var run = OrchestratorProcess.Start(args);
        var stderr = run.StandardError.ReadToEndAsync();
        var exited = run.WaitForExitAsync();
        (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(3)))).ShouldBe(exited, "the restarted orchestrator did not finish");
        run.ExitCode.ShouldBe(0, await stderr);
    }
}
