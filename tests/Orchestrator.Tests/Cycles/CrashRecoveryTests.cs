using CyAgents.Economy.Bids;
using CyAgents.Persistence.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Orchestrator.Tests.Cycles;

public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task A_cycle_that_died_before_settling_returns_its_bids_to_the_book_with_their_escrow_held()
    {
        await using var world = new CycleWorld();
        await world.AddAgentAsync("a", 1000);
        var bidId = await world.BidAsync("a", 1, ResourceBundle.Create(250, 96), 100);
        await using (var db = await world.Databases.CreateDbContextAsync())
        {
            db.Add(new CycleRecord { Number = 1, Status = CycleStatus.Clearing, StartedAt = DateTimeOffset.UtcNow });
            await new BidBook(db, world.Ledger).FreezeAsync(1, default);
            await db.SaveChangesAsync();
        }

        var report = await world.Recovery().RepairAsync(default);

        report.CyclesInterrupted.ShouldBe([1L]);
        report.BidsReopened.ShouldBe(1);
        report.Conservation.Holds.ShouldBeTrue();
        (await world.QueryAsync(db => db.Set<BidRecord>().SingleAsync(b => b.Id == bidId))).Status.ShouldBe(BidStatus.Open);
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("a"))).Reserved.ShouldBe(100);
        (await world.QueryAsync(db => db.Set<CycleRecord>().SingleAsync())).Status.ShouldBe(CycleStatus.Interrupted);

        var next = await world.Cycle.RunAsync(await world.Cycle.NextNumberAsync(default), default);
        next.Number.ShouldBe(2);
        next.Winners.ShouldHaveSingleItem().BidId.ShouldBe(bidId);
    }

    [Fact]
    public async Task Executions_left_running_are_marked_abandoned_and_their_tokens_revoked()
    {
        await using var world = new CycleWorld();
        await world.Cycle.BootstrapAsync(default);
        await world.Cycle.RunAsync(1, default);
        await using (var db = await world.Databases.CreateDbContextAsync())
        {
            db.Add(new CycleRecord { Number = 2, Status = CycleStatus.Running, StartedAt = DateTimeOffset.UtcNow });
            db.Add(new ExecutionRecord { Id = "c2-x", AgentId = "genesis-0", Cycle = 2, Status = ExecutionStatus.Running });
            await db.SaveChangesAsync();
        }
        await world.Tokens.IssueAsync("genesis-0", "c2-x", 2, default);

        var report = await world.Recovery().RepairAsync(default);

        report.ExecutionsAbandoned.ShouldBe(1);
        var execution = await world.QueryAsync(db => db.Set<ExecutionRecord>().SingleAsync(e => e.Id == "c2-x"));
        execution.Status.ShouldBe(ExecutionStatus.Abandoned);
        execution.Error.ShouldNotBeNull();
        world.Tokens.Live.ShouldNotContainKey("c2-x");
        (await world.QueryAsync(db => db.Set<CycleRecord>().SingleAsync(c => c.Number == 2))).Status.ShouldBe(CycleStatus.Interrupted);
        (await world.QueryAsync(db => db.Set<CycleRecord>().SingleAsync(c => c.Number == 1))).Status.ShouldBe(CycleStatus.Completed);
    }
}
