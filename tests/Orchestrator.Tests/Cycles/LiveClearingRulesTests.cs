using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Cycles;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>The clearing rules in live cycles: one win per agent from the bid book's records, and Live:Reserve.</summary>
public sealed class LiveClearingRulesTests
{
    [Fact]
    public async Task An_agents_several_bids_in_a_cycle_win_at_most_once()
    {
        await using var world = new CycleWorld();
        await world.AddAgentAsync("a", 1000);
        await world.AddAgentAsync("b", 1000);
        await world.BidAsync("a", 1, ResourceBundle.Create(250, 96), 50, "a-1");
        await world.BidAsync("a", 1, ResourceBundle.Create(250, 96), 40, "a-2");
        await world.BidAsync("b", 1, ResourceBundle.Create(250, 96), 30, "b-1");

        var result = await world.Cycle.RunAsync(1, CancellationToken.None);

        result.Winners.Select(w => w.BidId).Order(StringComparer.Ordinal).ShouldBe(["a-1", "b-1"]);
        result.Bids.ShouldBe(3);
    }

    [Theory]
    [InlineData("none", 0)]
    [InlineData("fixed", 125)] // 0.5 credits per millicore for 250 millicores
    public async Task Live_reserve_makes_an_uncontested_critical_value_winner_pay(string mode, long payment)
    {
        var options = new LiveOptions { ExecutionWindow = TimeSpan.FromSeconds(5), Reserve = new ReserveOptions { Mode = mode, Cpu = 0.5 } };
        options.Validate().ShouldBeEmpty();
        await using var world = new CycleWorld(options);
        await world.AddAgentAsync("a", 1000);
        await world.BidAsync("a", 1, ResourceBundle.Create(250, 96), 200, "a-1");

        var result = await world.Cycle.RunAsync(1, CancellationToken.None);

        result.Winners.ShouldHaveSingleItem().Payment.ShouldBe(payment);
    }

    [Fact]
    public void A_bad_reserve_setting_is_named_at_start()
    {
        new LiveOptions { Reserve = new ReserveOptions { Mode = "high" } }.Validate().ShouldContain(e => e.StartsWith("Reserve:Mode"));
        new LiveOptions { Reserve = new ReserveOptions { Mode = "fixed", Cpu = -1 } }.Validate().ShouldContain(e => e.StartsWith("Reserve:Cpu"));
    }
}
