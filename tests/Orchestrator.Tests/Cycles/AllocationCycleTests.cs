using CyAgents.Economy.Bids;
using System.Text.Json;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Cycles;

public sealed class AllocationCycleTests
{
    private static readonly ResourceBundle Small = ResourceBundle.Create(250, 96);

    [Fact]
    public async Task Genesis_wins_cycle_one_with_the_entry_bid_the_orchestrator_placed_for_it()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);

        var report = await world.Cycle.RunAsync(1, default);

        report.Winners.ShouldHaveSingleItem().AgentId.ShouldBe("genesis-0");
        report.Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.Succeeded);
        report.Conservation.Holds.ShouldBeTrue();
        var paid = report.Winners[0].Payment;
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("genesis-0"))).Posted.ShouldBe(world.Options.Genesis.Endowment - paid);
        var cycle = await world.QueryAsync(db => db.Set<CycleRecord>().SingleAsync());
        cycle.Status.ShouldBe(CycleStatus.Completed);
        cycle.InvariantHeld.ShouldBe(true);
        (await world.QueryAsync(db => db.Set<MarketStateRecord>().CountAsync(s => s.Cycle == 1))).ShouldBe(ResourceKinds.Count);
    }

    [Fact]
    public async Task Bootstrapping_twice_creates_genesis_once()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        await world.Cycle.BootstrapAsync(default);

        (await world.QueryAsync(db => db.Set<AgentRecord>().CountAsync())).ShouldBe(1);
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("genesis-0"))).Posted.ShouldBe(world.Options.Genesis.Endowment);
    }

    [Fact]
    public async Task The_winner_runs_with_its_won_bundle_a_fresh_token_and_an_env_json_of_its_own_outside_its_workspace()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        string? envText = null;
        world.Sandbox.Behaviour = request =>
        {
            envText = File.ReadAllText(Path.Combine(request.ContextFolder!, "env.json"));
            File.Exists(Path.Combine(request.Workspace, "env.json")).ShouldBeFalse();
            var now = DateTimeOffset.UtcNow;
            return Task.FromResult(new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "c", now, now, null, []));
        };

        await world.Cycle.RunAsync(1, default);

        var request = world.Sandbox.Requests.ShouldHaveSingleItem();
        request.Bundle.ShouldBe(world.Options.Genesis.FirstBundle);
        request.Window.ShouldBe(world.Options.ExecutionWindow);
        using var env = JsonDocument.Parse(envText.ShouldNotBeNull());
        env.RootElement.GetProperty("agentId").GetString().ShouldBe("genesis-0");
        env.RootElement.GetProperty("nextCycle").GetInt64().ShouldBe(2);
        env.RootElement.GetProperty("bundle").GetProperty("memoryMiB").GetInt64().ShouldBe(96);
        env.RootElement.GetProperty("apiSocket").GetString().ShouldBe("/run/cyagents/api.sock");
        env.RootElement.GetProperty("token").GetString().ShouldNotBeNullOrEmpty();
        world.Tokens.Revoked.ShouldContain(request.ExecutionId);
        world.Tokens.Live.ShouldBeEmpty();
        Directory.Exists(request.ContextFolder).ShouldBeFalse(); // removed with the execution
    }

    [Fact]
    public async Task Losers_get_their_escrow_back_and_only_what_fits_the_supply_wins()
    {
        await using var world = new CycleWorld(supply: ResourceBundle.Create(1000, 1024, 0, 0));
        await world.AddAgentAsync("a", 1000);
        await world.AddAgentAsync("b", 1000);
        await world.BidAsync("a", 1, ResourceBundle.Create(800, 512), 300);
        await world.BidAsync("b", 1, ResourceBundle.Create(800, 512), 100);

        var report = await world.Cycle.RunAsync(1, default);

        report.Winners.ShouldHaveSingleItem().AgentId.ShouldBe("a");
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("b"))).ShouldSatisfyAllConditions(
            b => b.Posted.ShouldBe(1000), b => b.Reserved.ShouldBe(0));
        (await world.QueryAsync(db => db.Set<BidRecord>().Where(b => b.AgentId == "b").Select(b => b.Status).SingleAsync())).ShouldBe(BidStatus.Lost);
        report.Conservation.Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_bid_larger_than_the_whole_supply_loses_and_its_escrow_is_voided()
    {
        await using var world = new CycleWorld(supply: ResourceBundle.Create(1000, 1024, 0, 0));
        await world.AddAgentAsync("greedy", 500);
        await world.BidAsync("greedy", 1, ResourceBundle.Create(64_000, 512), 400);

        var report = await world.Cycle.RunAsync(1, default);

        report.Winners.ShouldBeEmpty();
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("greedy"))).Available.ShouldBe(500);
    }

    [Fact]
    public async Task Bids_the_agents_place_while_running_win_in_the_next_cycle()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = async request =>
        {
            await world.BidAsync(request.AgentId, request.Environment.NextCycle, Small, 50);
            var now = DateTimeOffset.UtcNow;
            return new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "c", now, now, null, []);
        };

        await world.Cycle.RunAsync(1, default);
        var second = await world.Cycle.RunAsync(2, default);

        second.Winners.ShouldHaveSingleItem().AgentId.ShouldBe("genesis-0");
        second.Executions.ShouldHaveSingleItem().Cycle.ShouldBe(2);
        (await world.Cycle.NextNumberAsync(default)).ShouldBe(3);
    }

    [Fact]
    public async Task A_child_spawned_during_a_cycle_gets_an_entry_bid_and_runs_in_the_next()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = async request =>
        {
            if (request.AgentId == "genesis-0" && request.Cycle == 1) await world.AddAgentAsync("child", 500);
            var now = DateTimeOffset.UtcNow;
            return new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "c", now, now, null, []);
        };

        await world.Cycle.RunAsync(1, default);
        var second = await world.Cycle.RunAsync(2, default);

        second.Winners.ShouldHaveSingleItem().AgentId.ShouldBe("child");
        second.Winners[0].Amount.ShouldBe(world.Options.Genesis.FirstBidAmount);
        second.Conservation.Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_newcomer_poorer_than_the_entry_bid_offers_its_whole_balance()
    {
        await using var world = new CycleWorld();
        await world.AddAgentAsync("poor", 7);

        var report = await world.Cycle.RunAsync(1, default);

        report.Winners.ShouldHaveSingleItem().Amount.ShouldBe(7);
    }

    [Theory]
    [InlineData(ExecutionStatus.OOMKilled, 137)]
    [InlineData(ExecutionStatus.TimedOut, 137)]
    [InlineData(ExecutionStatus.Failed, 3)]
    public async Task How_an_execution_ended_is_on_its_record_and_the_payment_stands(ExecutionStatus status, int exitCode)
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = _ =>
        {
            var now = DateTimeOffset.UtcNow;
            return Task.FromResult(new ExecutionOutcome(status, exitCode, "c", now, now, "why", []));
        };

        var report = await world.Cycle.RunAsync(1, default);

        var execution = await world.QueryAsync(db => db.Set<ExecutionRecord>().SingleAsync());
        execution.Status.ShouldBe(status);
        execution.ExitCode.ShouldBe(exitCode);
        execution.Granted.MemoryMiB.ShouldBe(96);
        execution.Error.ShouldBe("why");
        report.Conservation.Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_launch_that_throws_is_recorded_as_launch_failed_and_the_cycle_completes()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = _ => throw new DockerEngineException("create", "no such image");

        var report = await world.Cycle.RunAsync(1, default);

        report.Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.LaunchFailed);
        report.Executions[0].Error.ShouldNotBeNull().ShouldContain("no such image");
        world.Tokens.Live.ShouldBeEmpty();
    }

    [Fact]
    public void Supply_is_the_engines_cpus_and_memory_minus_the_reserve()
    {
        var capacity = new CapacityOptions { ReserveMillicores = 500, ReserveMemoryMiB = 2048, Tokens = 7, AttentionBasisPoints = 9 };

        capacity.SupplyFrom(2, 24L * 1024 * 1024 * 1024).ShouldBe(ResourceBundle.Create(1500, 22 * 1024, 7, 9));
        capacity.SupplyFrom(0, 1024).ShouldBe(ResourceBundle.Create(0, 0, 7, 9));
    }

    [Fact]
    public void An_unknown_mechanism_is_refused_with_the_known_names()
    {
        var e = Should.Throw<ArgumentException>(() => new CycleWorld(new LiveOptions { Mechanism = "auction-of-dreams" }));
        e.Message.ShouldContain("critical-value");
    }
}
