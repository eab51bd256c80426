using CyAgents.Economy.Clearing;
using CyAgents.Economy.Cycles;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Persistence.Records;

namespace CyAgents.Persistence.Tests.Records;

public sealed class MarketStateRecordsTests
{
    [Fact]
    public void A_market_state_survives_its_rows_unchanged()
    {
        var bids = new[]
        {
            new Bid("a", "x", ResourceBundle.Create(600, 100), 10),
            new Bid("b", "y", ResourceBundle.Create(600, 100), 9),
        };
        var state = CycleClearing.Run(new CycleClearingInput(4, bids, ResourceBundle.Create(1000, 1000), new MarketPrices(1, 1, 1, 1),
            new FirstPriceMechanism(), new PricingOptions { Eta = 0.5, TargetRatio = 1.0, Smoothing = 1.0 }, Seed: 0)).Market;

        var rows = state.ToRecords();

        rows.Count.ShouldBe(ResourceKinds.Count);
        var back = rows.ToMarketState();
        back.Cycle.ShouldBe(state.Cycle);
        back.Kinds.ShouldBe(state.Kinds);
    }

    [Fact]
    public void Rows_of_two_cycles_or_missing_kinds_are_refused()
    {
        var rows = MarketState.Create(1, ResourceBundle.Create(100), ResourceBundle.Create(200), ResourceBundle.Create(100),
            new MarketPrices(1, 1, 1, 1), new PricingOptions()).ToRecords();

        Should.Throw<ArgumentException>(() => rows.Take(3).ToMarketState());
        rows[0].Cycle = 2;
        Should.Throw<ArgumentException>(() => rows.ToMarketState());
    }
}
