using CyAgents.Economy.Clearing;
using CyAgents.Economy.Cycles;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;

namespace CyAgents.Economy.Tests.Cycles;

public sealed class CycleClearingTests
{
    private static readonly PricingOptions Unsmoothed = new() { Eta = 0.5, TargetRatio = 1.0, Smoothing = 1.0 };
    private static readonly ResourceBundle Supply = ResourceBundle.Create(1000, 1000);

    private static CycleClearingOutcome Run(IReadOnlyList<Bid> bids, PricingOptions? pricing = null, Func<string, string>? escrowIdOf = null) =>
        CycleClearing.Run(new CycleClearingInput(4, bids, Supply, new MarketPrices(1, 1, 1, 1), new FirstPriceMechanism(),
            pricing, Seed: 0, escrowIdOf));

    // Moved here from PricingTests (it called MarketState.AfterClearing, which this step replaces).
    [Fact]
    public void Market_state_after_a_clearing_records_demand_allocation_and_next_prices()
    {
        var state = Run([new Bid("a", "x", ResourceBundle.Create(600, 100), 10), new Bid("b", "y", ResourceBundle.Create(600, 100), 9)],
            Unsmoothed).Market;

        state.Cycle.ShouldBe(4);
        var cpu = state[ResourceKind.Cpu];
        (cpu.Supply, cpu.Demand, cpu.Allocated).ShouldBe((1000L, 1200L, 600L));
        cpu.Utilization.ShouldBe(0.6);
        cpu.NextPrice.ShouldBe(Math.Exp(0.5 * 0.2), 1e-12);
        state[ResourceKind.Memory].NextPrice.ShouldBeLessThan(1);
        state[ResourceKind.Tokens].NextPrice.ShouldBe(1); // no supply: unchanged
    }

    [Fact]
    public void Bids_that_cannot_be_cleared_lose_with_their_reason_and_still_count_as_demand()
    {
        var tooBig = new Bid("big", "x", ResourceBundle.Create(2000, 10), 50);
        var dup1 = new Bid("d", "y", ResourceBundle.Create(100, 100), 5);
        var dup2 = new Bid("d", "z", ResourceBundle.Create(100, 100), 7);

        var outcome = Run([tooBig, dup1, dup2], Unsmoothed);

        outcome.Rejected.Select(r => r.Bid).ShouldBe([tooBig, dup2]);
        outcome.Rejected[0].Reason.ShouldContain("exceeds the supply");
        outcome.Rejected[1].Reason.ShouldContain("duplicate bid id 'd'");
        outcome.Result.Winners.Select(w => w.BidId).ShouldBe(["d"]);
        outcome.Result.Losers.ShouldContain("big");
        outcome.Market[ResourceKind.Cpu].Demand.ShouldBe(2200);
    }

    [Fact]
    public void Without_a_pricing_rule_the_next_prices_are_the_prices_in_force()
    {
        var outcome = Run([new Bid("a", "x", ResourceBundle.Create(900, 900), 10)], pricing: null);

        outcome.Market.NextPrices.ShouldBe(outcome.Market.Prices);
        outcome.Market.Prices.ShouldBe(new MarketPrices(1, 1, 1, 1));
    }

    [Fact]
    public void The_settlement_is_the_linked_batch_of_the_result_with_the_callers_escrow_ids()
    {
        var bids = new[] { new Bid("a", "x", ResourceBundle.Create(600, 100), 10), new Bid("b", "y", ResourceBundle.Create(600, 100), 9) };

        var outcome = Run(bids, Unsmoothed, id => "escrow-of-" + id);

        outcome.SettlementOperations().ShouldBe(ClearingSettlement.Operations(outcome.Result, 4, id => "escrow-of-" + id));
        outcome.SettlementOperations().OfType<PendingResolution>().Select(r => r.PendingId).ShouldBe(["escrow-of-a", "escrow-of-b"]);
    }

    [Fact]
    public void The_same_input_gives_the_same_outcome()
    {
        var bids = Enumerable.Range(0, 200).Select(i => new Bid($"b{i:D3}", $"a{i % 17}", ResourceBundle.Create(10 + i % 90, 5 + i % 40), 1 + i * 7 % 101)).ToArray();
        var input = new CycleClearingInput(9, bids, Supply, new MarketPrices(0.01, 0.02, 0, 0), new LotteryMechanism(), Unsmoothed, 42);

        var a = CycleClearing.Run(input);
        var b = CycleClearing.Run(input);

        b.Result.Winners.ShouldBe(a.Result.Winners);
        b.Result.Losers.ShouldBe(a.Result.Losers);
        b.Market.Kinds.ShouldBe(a.Market.Kinds);
        b.SettlementOperations().ShouldBe(a.SettlementOperations());
    }
}
