using CyAgents.Orchestrator.Cycles;

namespace CyAgents.Orchestrator.Tests.Cycles;

/// <summary>Live cycles take every mechanism that can clear any number of bids into whole sandbox caps, and refuse the rest.</summary>
public sealed class LiveOptionsMechanismTests
{
    [Theory]
    [InlineData("optimal", "refuses more than 40 bids")]
    [InlineData("vcg", "refuses more than 40 bids")]
    [InlineData("proportional", "grants scaled bundles")]
    public void Research_only_mechanisms_are_refused_for_live_cycles_with_the_reason(string name, string reason)
    {
        var error = new LiveOptions { Mechanism = name }.Validate().ShouldHaveSingleItem();
        error.ShouldStartWith($"Mechanism '{name}' cannot clear live cycles: ");
        error.ShouldContain(reason);
        error.ShouldEndWith("use it with simulate, sweep or clear");
    }

    [Theory]
    [InlineData("drf")]
    [InlineData("uniform-price")]
    [InlineData("critical-value")]
    public void Reference_mechanisms_that_grant_whole_bundles_at_any_size_are_accepted_live(string name) =>
        new LiveOptions { Mechanism = name }.Validate().ShouldBeEmpty();
}
