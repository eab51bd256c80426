using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Tests.Cycles;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Faults;

/// <summary>A fault on the host's side must never end an agent's life (issue 15, ADR 0085).</summary>
public sealed class HostFaultLivenessTests
{
    private const string Genesis = "genesis-0";

    /// <summary>Genesis as the real one behaves: while it runs it bids for the next cycle.</summary>
    private static void BidsWhileRunning(CycleWorld world) => world.Sandbox.Behaviour = async request =>
    {
        await world.BidAsync(request.AgentId, request.Cycle + 1, ResourceBundle.Create(250, 96), 50);
        var now = DateTimeOffset.UtcNow;
        return new ExecutionOutcome(ExecutionStatus.Succeeded, 0, "fake", now, now, null, []);
    };

    /// <summary>The reproduced stall: the only agent's cycle-1 execution is lost to a crash before it bid again.</summary>
    private static async Task CrashDuringCycleOneAsync(CycleWorld world)
    {
        await world.Cycle.BootstrapAsync(default);
        var crashing = new AllocationCycle(world.Databases, _ => world.Ledger, world.Sandbox, world.Tokens, world.Workspaces, world.Options,
            world.Cycle.Supply, "/run/cyagents/api.sock", NullLogger<AllocationCycle>.Instance, faults: new CrashAt(FaultPoint.AfterSettlement));
        await Should.ThrowAsync<SimulatedCrash>(() => crashing.RunAsync(1, default));
    }

    [Fact]
    public async Task A_single_genesis_whose_first_execution_a_crash_ended_runs_again_in_every_later_cycle()
    {
        await using var world = new CycleWorld();
        await CrashDuringCycleOneAsync(world);
        BidsWhileRunning(world);
        var paid = (await world.QueryAsync(db => db.Set<BidRecord>().SingleAsync())).Payment.ShouldNotBeNull();
        var before = (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent(Genesis))).Posted;

        var recovered = await world.Recovery().RepairAsync(default);

        var repair = recovered.HostFaults.ShouldHaveSingleItem();
        repair.AgentId.ShouldBe(Genesis);
        repair.Refunded.ShouldBe(paid);
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent(Genesis))).Posted.ShouldBe(before + paid);
        for (var n = 2; n <= 5; n++)
        {
            var report = await world.Cycle.RunAsync(n, default);
            report.Bids.ShouldBe(1, $"cycle {n} must clear Genesis's bid");
            report.Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.Succeeded);
        }
    }

    [Fact]
    public async Task Without_the_host_fault_repair_the_same_crash_stalls_the_economy_at_zero_bids()
    {
        // The regression the rule fixes, kept as a test so the harness's check is known to bite.
        await using var world = new CycleWorld();
        await CrashDuringCycleOneAsync(world);
        BidsWhileRunning(world);
        await new CrashRecovery(world.Databases, _ => world.Ledger, null, world.Tokens, NullLogger<CrashRecovery>.Instance)
            { SkipHostFaultRepairForTests = true }.RepairAsync(default);

        (await world.Cycle.RunAsync(2, default)).Bids.ShouldBe(0);
    }

    [Fact]
    public async Task Recovery_repeated_after_a_crash_during_recovery_refunds_once()
    {
        await using var world = new CycleWorld();
        await CrashDuringCycleOneAsync(world);
        var before = (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent(Genesis))).Posted;

        await world.Recovery().RepairAsync(default);
        // A second start over the same state (as after a crash late in the first recovery) must change nothing.
        await using (var db = await world.Databases.CreateDbContextAsync())
        {
            (await db.Set<CycleRecord>().SingleAsync()).Status = CycleStatus.Running;
            await db.SaveChangesAsync();
        }
        (await world.Recovery().RepairAsync(default)).HostFaults.ShouldBeEmpty();

        var paid = (await world.QueryAsync(db => db.Set<BidRecord>().SingleAsync(b => b.Id == "entry-genesis-0"))).Payment!.Value;
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent(Genesis))).Posted.ShouldBe(before + paid);
        (await world.QueryAsync(db => db.Set<BidRecord>().CountAsync(b => b.Status == BidStatus.Open))).ShouldBe(1);
    }

    [Fact]
    public async Task A_launch_failure_refunds_the_charge_and_re_enters_the_agent_in_the_same_cycle()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = _ => throw new InvalidOperationException("engine refused the container");

        var first = await world.Cycle.RunAsync(1, default);

        first.Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.LaunchFailed);
        var reentry = await world.QueryAsync(db => db.Set<BidRecord>().SingleAsync(b => b.Status == BidStatus.Open));
        reentry.Id.ShouldBe(HostFaultSettlement.ReentryBidId(first.Executions[0].Id));
        reentry.AgentId.ShouldBe(Genesis);
        BidsWhileRunning(world);
        (await world.Cycle.RunAsync(2, default)).Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.Succeeded);
    }

    [Fact]
    public async Task An_agent_that_bid_before_the_host_lost_its_execution_is_refunded_but_gets_no_second_bid()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        world.Sandbox.Behaviour = async request =>
        {
            await world.BidAsync(request.AgentId, request.Cycle + 1, ResourceBundle.Create(250, 96), 50, "own-next");
            var now = DateTimeOffset.UtcNow;
            return new ExecutionOutcome(ExecutionStatus.HostFault, null, "fake", now, now, "the engine went away", []);
        };

        var report = await world.Cycle.RunAsync(1, default);

        report.Executions.ShouldHaveSingleItem().Status.ShouldBe(ExecutionStatus.HostFault);
        (await world.QueryAsync(db => db.Set<BidRecord>().Where(b => b.Status == BidStatus.Open).Select(b => b.Id).ToListAsync()))
            .ShouldBe(["own-next"]);
        var won = await world.QueryAsync(db => db.Set<BidRecord>().SingleAsync(b => b.Status == BidStatus.Won));
        // Endowment - own next bid's escrow: the entry bid's charge came back.
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent(Genesis))).Available.ShouldBe(world.Options.Genesis.Endowment - 50);
        won.Payment.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public void Re_entry_bid_ids_fit_a_bid_id_and_stay_distinct()
    {
        var a = HostFaultSettlement.ReentryBidId("c1-" + new string('a', 61));
        var b = HostFaultSettlement.ReentryBidId("c1-" + new string('a', 60) + "b");
        a.Length.ShouldBeLessThanOrEqualTo(64);
        a.ShouldNotBe(b);
    }
}

/// <summary>Stands for a kill -9: thrown at a fault point, nothing after it runs.</summary>
public sealed class SimulatedCrash(string where) : Exception($"simulated crash at {where}");

/// <summary>Crashes the first time the cycle reaches one point.</summary>
public sealed class CrashAt(FaultPoint point) : IFaultPoints
{
    public void Reached(FaultPoint reached)
    {
        if (reached == point) throw new SimulatedCrash(point.ToString());
    }
}

public sealed class ExecutionIdTests
{
    [Fact]
    public void Long_bid_ids_that_share_a_prefix_get_distinct_execution_ids_of_at_most_64_characters()
    {
        var prefix = "re-c9-re-c8-re-c7-re-c6-re-c5-re-c4-re-c3-re-c2-entry-genesis";
        var a = AllocationCycle.ExecutionIdOf(10, prefix + "-aaaaaaaaaaaaaaaa");
        var b = AllocationCycle.ExecutionIdOf(10, prefix + "-bbbbbbbbbbbbbbbb");
        a.Length.ShouldBeLessThanOrEqualTo(64);
        a.ShouldNotBe(b);
        AllocationCycle.ExecutionIdOf(3, "entry-genesis-0").ShouldBe("c3-entry-genesis-0");
    }
}
