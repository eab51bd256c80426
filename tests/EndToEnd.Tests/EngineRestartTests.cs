using System.Diagnostics;
using System.Text.Json;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The Docker engine restarts during a live cycle (issue 15 item 3, ADR 0089). It stops and starts the one dockerd of the
/// machine, so it runs only when nothing else uses the engine: <c>dotnet test tests/EndToEnd.Tests --filter Engine=restart</c>.
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Engine", "restart")]
public sealed class EngineRestartTests(DockerFixture docker)
{
    [Fact]
    public async Task When_the_engine_restarts_under_a_running_agent_its_execution_ends_HostFault_and_the_cycles_resume()
    {
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "engine-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var settings = Live.Settings(root);
        var template = Path.Combine(settings.WorkspaceTemplate, "strategy.json");
        var normal = await File.ReadAllTextAsync(template);
        // Genesis spins through its first execution, so the restart surely lands while its container runs.
        await File.WriteAllTextAsync(template, JsonSerializer.Serialize(new { bidFraction = 0.05, test = new { busyLoopSeconds = 120 } }));
        var instance = DockerSandbox.ManagedBy(SandboxOptions.InstanceOf(settings.Database));

        using var run = OrchestratorProcess.Start(["run", "--data", settings.DataDirectory, "--workspaces", settings.WorkspacesRoot, "--api-urls", "",
            "--cycles", "4", "--interval", "0s", "--window", "120s", "--quiet"]);
        await OrchestratorProcess.WaitForAsync(async () => (await docker.Engine.ListContainersAsync(instance)).FirstOrDefault(c => c.State == "running"), run);
        // Its next turns behave normally, so the resumed cycles finish quickly.
        await File.WriteAllTextAsync(Path.Combine(settings.WorkspacesRoot, "genesis-0", "strategy.json"), normal);

        await RestartEngineAsync();

        var exited = run.WaitForExitAsync();
        (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(4)))).ShouldBe(exited, "the run did not finish after the engine came back");
        run.ExitCode.ShouldBe(0, await run.StandardError.ReadToEndAsync());
        (await docker.Engine.ListContainersAsync(instance)).ShouldBeEmpty();
        await using var db = new CyAgents.Persistence.CyAgentsDbContext(Live.Database(settings).BuildOptions());
        var first = await db.Set<ExecutionRecord>().SingleAsync(e => e.Cycle == 1);
        first.Status.ShouldBe(ExecutionStatus.HostFault, first.Error);
        // ADR 0085: what it paid comes back (a lone, uncontested Genesis pays 0 under critical-value, so then there is no
        // refund transfer to write), and it bids in the next cycle: its own bid if the daemon's SIGTERM let it finish its turn,
        // else the re-entry bid the repair places.
        var paid = (await db.Set<BidRecord>().SingleAsync(b => b.Id == first.BidId)).Payment ?? 0;
        (await db.Set<LedgerTransferRecord>().AnyAsync(t => t.Id == CyAgents.Orchestrator.Cycles.HostFaultSettlement.RefundId(first.Id)))
            .ShouldBe(paid > 0, $"the execution the engine lost is refunded what it paid ({paid})");
        (await db.Set<BidRecord>().AnyAsync(b => b.AgentId == first.AgentId && b.Cycle == first.Cycle + 1))
            .ShouldBeTrue("the agent the engine lost bids in the next cycle");
        var cycles = await db.Set<CycleRecord>().OrderBy(c => c.Number).ToListAsync();
        cycles.Count.ShouldBe(4);
        cycles.ShouldAllBe(c => c.Status == CycleStatus.Completed && c.InvariantHeld == true, "no cycle is left half-done");
        cycles[^1].BidCount.ShouldBeGreaterThan(0, "the last cycle clears a bid again");
        (await db.Set<ExecutionRecord>().Where(e => e.Cycle > 1).Select(e => e.Status).ToListAsync()).ShouldContain(ExecutionStatus.Succeeded);
        (await new EfLedger(db).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    /// <summary>Stops dockerd (SIGTERM, as a service restart does), waits until it is gone, and starts it again.</summary>
    private static async Task RestartEngineAsync()
    {
        var pid = int.Parse((await File.ReadAllTextAsync("/var/run/docker.pid")).Trim());
        using (var term = Process.Start("kill", ["-TERM", pid.ToString()])) await term.WaitForExitAsync();
        var until = DateTime.UtcNow.AddMinutes(1);
        while (Directory.Exists($"/proc/{pid}") && DateTime.UtcNow < until) await Task.Delay(200);
        Directory.Exists($"/proc/{pid}").ShouldBeFalse("dockerd did not stop");
        // Down for a few seconds, so the orchestrator's backoff has something to wait for.
        await Task.Delay(TimeSpan.FromSeconds(3));
        using var start = Process.Start(new ProcessStartInfo(Path.Combine(Orchestrator.Sandbox.AgentImage.FindSourceRoot(), "scripts", "ensure-docker"))
            { RedirectStandardError = true })!;
        var error = await start.StandardError.ReadToEndAsync();
        await start.WaitForExitAsync();
        start.ExitCode.ShouldBe(0, error);
    }
}
