using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Market;

public sealed class PricingTests
{
    private static readonly PricingOptions Unsmoothed = new() { Eta = 0.5, TargetRatio = 1.0, Smoothing = 1.0 };

    [Fact]
    public void Excess_demand_raises_the_price_by_exp_eta_times_the_excess()
    {
        // demand/supply = 1.5 -> excess 0.5 -> factor exp(0.25).
        TatonnementPricing.NextPrice(2.0, supply: 100, demand: 150, Unsmoothed).ShouldBe(2.0 * Math.Exp(0.25), 1e-12);
    }

    [Fact]
    public void Slack_lowers_the_price_and_balance_keeps_it()
    {
        TatonnementPricing.NextPrice(2.0, 100, 50, Unsmoothed).ShouldBe(2.0 * Math.Exp(-0.25), 1e-12);
        TatonnementPricing.NextPrice(2.0, 100, 100, Unsmoothed).ShouldBe(2.0, 1e-12);
    }

    [Fact]
    public void Smoothing_moves_only_part_of_the_way()
    {
        var options = Unsmoothed with { Smoothing = 0.5 };
        var target = 2.0 * Math.Exp(0.25);
        TatonnementPricing.NextPrice(2.0, 100, 150, options).ShouldBe((2.0 + target) / 2, 1e-12);
    }

    [Fact]
    public void A_demand_spike_moves_the_price_at_most_by_the_step_factor_and_never_past_the_ceiling()
    {
        var options = Unsmoothed with { MaxStepFactor = 2, Ceiling = 3 };
        TatonnementPricing.NextPrice(1.0, 100, 100_000, options).ShouldBe(2.0);
        TatonnementPricing.NextPrice(2.0, 100, 100_000, options).ShouldBe(3.0);
        TatonnementPricing.NextPrice(1.0, 100, 0, options with { Floor = 0.9 }).ShouldBe(0.9);
    }

    [Fact]
    public void A_zero_price_is_lifted_to_the_floor_so_it_can_move()
    {
        var next = TatonnementPricing.NextPrice(0, 100, 200, Unsmoothed);
        next.ShouldBeGreaterThan(Unsmoothed.Floor);
    }

    [Fact]
    public void A_kind_without_supply_keeps_its_price() =>
        TatonnementPricing.NextPrice(1.5, supply: 0, demand: 10, Unsmoothed).ShouldBe(1.5);

    [Fact]
    public void Repeated_cycles_of_constant_excess_demand_converge_toward_balance_when_demand_responds()
    {
        // Demand falls as price rises (demand = 200 / price); the rule should settle where demand = supply = 100.
        var options = new PricingOptions { Eta = 0.5, Smoothing = 0.5, Floor = 0.01, Ceiling = 100 };
        var price = 0.5;
        for (var cycle = 0; cycle < 200; cycle++)
            price = TatonnementPricing.NextPrice(price, 100, (long)Math.Round(200 / price), options);
        price.ShouldBe(2.0, tolerance: 0.05);
    }

    [Fact]
    public void Default_options_are_valid_and_bad_ones_are_named()
    {
        new PricingOptions().Validate().ShouldBeEmpty();
        new PricingOptions { Smoothing = 0, Floor = -1 }.Validate()
            .ShouldBe(["Smoothing must be in (0, 1] (got 0)", "Floor must be positive (got -1)"]);
    }

    [Fact]
    public void History_keeps_cycles_in_order_and_gives_the_prices_for_the_next_cycle()
    {
        var options = new PricingOptions();
        var s1 = MarketState.Create(1, ResourceBundle.Create(100), ResourceBundle.Create(200), ResourceBundle.Create(100), options.InitialPrices, options);
        var s2 = MarketState.Create(2, ResourceBundle.Create(100), ResourceBundle.Create(50), ResourceBundle.Create(50), s1.NextPrices, options);
        var history = MarketHistory.Empty.Append(s1).Append(s2);

        MarketHistory.Empty.CurrentPrices(options.InitialPrices).ShouldBe(options.InitialPrices);
        history.CurrentPrices(options.InitialPrices).ShouldBe(s2.NextPrices);
        history.PriceSeries(ResourceKind.Cpu).ShouldBe([options.InitialCpu, s1.NextPrices[ResourceKind.Cpu]]);
        history.UtilizationSeries(ResourceKind.Cpu).ShouldBe([1.0, 0.5]);
        Should.Throw<ArgumentException>(() => history.Append(s1));
        MarketHistory.Empty.Cycles.ShouldBeEmpty();
    }
}
