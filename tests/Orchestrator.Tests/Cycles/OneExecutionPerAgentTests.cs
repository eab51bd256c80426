using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>
/// An agent gets at most one execution per cycle whatever clearing returns (issue 9 item 6, ADR 0075): of its winning
/// bids the one it offered most for runs, the others are recorded Superseded and their payment is refunded.
/// </summary>
public sealed class OneExecutionPerAgentTests
{
    /// <summary>A clearing that grants every bid at half its amount: what a mechanism without an XOR rule per agent may return.</summary>
    private sealed class GrantEverything : IClearingMechanism
    {
        public string Name => "grant-everything";

        public ClearingResult Clear(ClearingInput input)
        {
            var winners = input.Bids.OrderBy(b => b.Id, StringComparer.Ordinal)
                .Select(b => new Allocation(b.Id, b.AgentId, b.Bundle, b.Amount, b.Amount / 2)).ToList();
            var allocated = winners.Aggregate(ResourceBundle.Zero, (sum, w) => sum + w.Bundle);
            return new ClearingResult(Name, winners, [], allocated, input.Supply);
        }
    }

    [Fact]
    public async Task An_agent_whose_three_bids_all_win_runs_once_with_the_bid_it_offered_most_for_and_gets_the_other_payments_back()
    {
        await using var world = new CycleWorld();
        var cycle = new AllocationCycle(world.Databases, _ => world.Ledger, world.Sandbox, world.Tokens, world.Workspaces, world.Options,
            world.Cycle.Supply, "/run/cyagents/api.sock", NullLogger<AllocationCycle>.Instance, mechanism: new GrantEverything());
        await world.AddAgentAsync("alpha", 1_000);
        await world.AddAgentAsync("beta", 1_000);
        await world.BidAsync("alpha", 1, ResourceBundle.Create(250, 96), 40, "a-low");
        await world.BidAsync("alpha", 1, ResourceBundle.Create(500, 128), 100, "a-high");
        await world.BidAsync("alpha", 1, ResourceBundle.Create(300, 64), 60, "a-mid");
        await world.BidAsync("beta", 1, ResourceBundle.Create(250, 96), 80, "b-only");

        var report = await cycle.RunAsync(1, default);

        report.Winners.Count.ShouldBe(4, "the mechanism granted every bid");
        // One container (sandbox request) and one context per agent.
        var requests = world.Sandbox.Requests.ToList();
        requests.Select(r => r.AgentId).OrderBy(a => a).ShouldBe(["alpha", "beta"]);
        requests.Select(r => r.ContextFolder).Distinct().Count().ShouldBe(2);
        requests.Single(r => r.AgentId == "alpha").Bundle.ShouldBe(ResourceBundle.Create(500, 128), "the bid alpha offered most for runs");
        report.Executions.Select(e => e.BidId).OrderBy(b => b).ShouldBe(["a-high", "b-only"]);

        var executions = await world.QueryAsync(db => db.Set<ExecutionRecord>().OrderBy(e => e.BidId).ToListAsync());
        executions.Where(e => e.Status == ExecutionStatus.Superseded).Select(e => e.BidId).ShouldBe(["a-low", "a-mid"]);
        executions.Where(e => e.Status == ExecutionStatus.Superseded).ShouldAllBe(e => e.EndedAt != null && e.Error!.Contains("a-high"));
        // alpha pays only for the run it got (100 / 2); the refunds of 20 and 30 come from the treasury as their own transfers.
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("alpha"))).Posted.ShouldBe(1_000 - 50);
        (await world.Ledger.FindTransferAsync(AllocationCycle.OneRunRefundId("a-low"))).ShouldNotBeNull().Amount.ShouldBe(20);
        (await world.Ledger.FindTransferAsync(AllocationCycle.OneRunRefundId("a-mid"))).ShouldNotBeNull().Amount.ShouldBe(30);
        (await world.Ledger.FindTransferAsync(AllocationCycle.OneRunRefundId("a-high"))).ShouldBeNull();
        (await world.Ledger.GetBalanceAsync(AccountIds.ForAgent("beta"))).Posted.ShouldBe(1_000 - 40);
        report.Conservation.Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task Equal_offers_run_the_lowest_bid_id()
    {
        await using var world = new CycleWorld();
        var cycle = new AllocationCycle(world.Databases, _ => world.Ledger, world.Sandbox, world.Tokens, world.Workspaces, world.Options,
            world.Cycle.Supply, "/run/cyagents/api.sock", NullLogger<AllocationCycle>.Instance, mechanism: new GrantEverything());
        await world.AddAgentAsync("alpha", 1_000);
        await world.BidAsync("alpha", 1, ResourceBundle.Create(300, 64), 60, "b-second");
        await world.BidAsync("alpha", 1, ResourceBundle.Create(250, 96), 60, "a-first");

        var report = await cycle.RunAsync(1, default);

        report.Executions.ShouldHaveSingleItem().BidId.ShouldBe("a-first");
        world.Sandbox.Requests.ShouldHaveSingleItem().AgentId.ShouldBe("alpha");
    }
}
