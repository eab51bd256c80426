using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Workspaces.History;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>The cycle's hook into workspace history (ADR 0108): every execution a commit, and a history failure harms nothing.</summary>
public sealed class AllocationCycleHistoryTests
{
    private static readonly ResourceBundle Small = ResourceBundle.Create(250, 96);

    [Fact]
    public async Task Every_execution_becomes_a_commit_and_a_spawned_child_starts_from_its_parents()
    {
        await using var world = new CycleWorld(history: new HistoryOptions());
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = async request =>
        {
            // As the agent would: write into its workspace, bid in cycle 1, spawn a child in cycle 2.
            File.WriteAllText(Path.Combine(request.Workspace, $"cycle-{request.Cycle}.txt"), $"{request.AgentId} ran");
            if (request.AgentId == "genesis-0" && request.Cycle == 1) await world.BidAsync(request.AgentId, 2, Small, 50);
            if (request.AgentId == "genesis-0" && request.Cycle == 2) await world.AddAgentAsync("child", 500, parentId: "genesis-0", createdCycle: 2);
            var now = DateTimeOffset.UtcNow;
            return new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "c", now, now, null, []);
        };

        await world.Cycle.RunAsync(1, default);
        await world.Cycle.RunAsync(2, default);
        var third = await world.Cycle.RunAsync(3, default);

        third.Executions.ShouldHaveSingleItem().AgentId.ShouldBe("child");
        var genesis = (await world.History!.ReadAsync("genesis-0", 0, 20))!;
        genesis.Items.Select(c => c.Cycle).ShouldBe([2L, 1L]);
        genesis.Items.ShouldAllBe(c => c.Status == "Succeeded" && c.ExitCode == 0);
        genesis.Items[0].Diff.Added.ShouldBe(1);
        var child = (await world.History.ReadAsync("child", 0, 20))!;
        child.Items.ShouldHaveSingleItem().ExecutionId.ShouldBe(third.Executions[0].Id);
        child.Items[0].Parent.ShouldBe(genesis.Items[0].Commit);
        child.StartedFrom!.AgentId.ShouldBe("genesis-0");
    }

    [Fact]
    public async Task A_history_failure_is_logged_and_never_fails_the_execution_or_the_cycle()
    {
        await using var world = new CycleWorld(history: new HistoryOptions { Git = "/nonexistent/git" });
        await world.Cycle.BootstrapAsync(default);

        var report = await world.Cycle.RunAsync(1, default);

        report.Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.Succeeded);
        report.Conservation.Holds.ShouldBeTrue();
        world.HistoryLog!.Lines.ShouldContain(l => l.Level == Microsoft.Extensions.Logging.LogLevel.Warning &&
            l.Message.Contains("Workspace history of genesis-0 not recorded") && l.Message.Contains("cannot start /nonexistent/git"));
    }
}
