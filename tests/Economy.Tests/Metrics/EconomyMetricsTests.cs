using CyAgents.Economy.Clearing;
using CyAgents.Economy.Metrics;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Tests.Metrics;

public sealed class EconomyMetricsTests
{
    private static readonly ResourceBundle One = ResourceBundle.Create(cpuMillicores: 1);

    private static ClearingResult Result() => new("first-price",
        [new Allocation("a", "x", One, 10, 10), new Allocation("b", "y", One.Scale(2), 30, 25)],
        ["c"], One.Scale(3), One.Scale(4));

    [Fact]
    public void Welfare_revenue_and_utilization_come_from_the_winners()
    {
        EconomyMetrics.Welfare(Result()).ShouldBe(40);
        EconomyMetrics.Welfare(Result(), id => id == "a" ? 7 : 20).ShouldBe(27);
        EconomyMetrics.Revenue(Result()).ShouldBe(35);
        EconomyMetrics.Utilization(Result()).ShouldBe([0.75, 0, 0, 0]);
    }

    [Fact]
    public void Efficiency_is_welfare_over_the_optimum()
    {
        EconomyMetrics.Efficiency(40, 50).ShouldBe(0.8);
        EconomyMetrics.Efficiency(0, 0).ShouldBe(1);
    }

    [Fact]
    public void Gini_of_whole_amounts_is_the_gini_of_the_same_values_as_doubles_to_the_bit()
    {
        // The integer path radix-sorts (ADR 0150); the simulator's outputs depend on it giving the very same double.
        var random = new Random(3);
        for (var n = 0; n < 300; n++)
        {
            var values = new long[random.Next(0, 2_000)];
            var scale = random.Next(4) switch { 0 => 3L, 1 => 1_000L, 2 => 1L << 40, _ => long.MaxValue / 4 };
            for (var i = 0; i < values.Length; i++)
                values[i] = random.Next(5) == 0 ? 0 : random.NextInt64(scale);
            var expected = EconomyMetrics.Gini(values.Select(v => (double)v).ToList());
            BitConverter.DoubleToInt64Bits(EconomyMetrics.Gini(values)).ShouldBe(BitConverter.DoubleToInt64Bits(expected), $"case {n}");
            BitConverter.DoubleToInt64Bits(EconomyMetrics.Gini((IEnumerable<long>)values)).ShouldBe(BitConverter.DoubleToInt64Bits(expected));
        }
        Should.Throw<ArgumentException>(() => EconomyMetrics.Gini([3L, -1L]));
    }

    [Fact]
    public void Gini_is_zero_for_equality_and_approaches_one_when_one_has_everything()
    {
        EconomyMetrics.Gini([5L, 5, 5, 5]).ShouldBe(0);
        EconomyMetrics.Gini([0L, 0, 0, 10]).ShouldBe(0.75, 1e-12); // 1 - 1/n
        EconomyMetrics.Gini([1L, 2, 3, 4]).ShouldBe(0.25, 1e-12);  // sum |xi-xj| / (2 n^2 mean) = 20 / 80
        EconomyMetrics.Gini(Array.Empty<long>()).ShouldBe(0);
        Should.Throw<ArgumentException>(() => EconomyMetrics.Gini([-1L]));
    }

    [Fact]
    public void Jain_index_is_one_for_equality_and_one_over_n_when_one_has_everything()
    {
        EconomyMetrics.JainIndex([3L, 3, 3]).ShouldBe(1, 1e-12);
        EconomyMetrics.JainIndex([0L, 0, 0, 8]).ShouldBe(0.25, 1e-12);
        EconomyMetrics.JainIndex([1L, 3]).ShouldBe(16.0 / 20, 1e-12);
        EconomyMetrics.JainIndex(Array.Empty<long>()).ShouldBe(1);
    }

    [Fact]
    public void Rationality_violations_are_winners_charged_above_their_true_value()
    {
        EconomyMetrics.RationalityViolations(Result()).ShouldBeEmpty();
        EconomyMetrics.RationalityViolations(Result(), id => id == "b" ? 24 : 100).ShouldBe(["b"]);
    }

    [Fact]
    public void Starvation_is_the_longest_run_of_funded_losses_and_names_the_agent()
    {
        AgentCycleOutcome Lost(bool funded = true) => new(true, false, funded);
        AgentCycleOutcome Won() => new(true, true, true);
        AgentCycleOutcome Idle() => new(false, false, true);
        var histories = new Dictionary<string, IReadOnlyList<AgentCycleOutcome>>
        {
            ["p"] = [Lost(), Lost(), Won(), Lost()],
            // the idle cycle neither ends nor extends the run; the unfunded loss ends it
            ["q"] = [Lost(), Idle(), Lost(), Lost(), Lost(false), Lost()],
            ["r"] = [Lost(false), Lost(false), Lost(false)],
        };
        EconomyMetrics.Starvation(histories).ShouldBe(new StarvationReport("q", 3));
        EconomyMetrics.Starvation(new Dictionary<string, IReadOnlyList<AgentCycleOutcome>>()).ShouldBe(new StarvationReport(null, 0));
    }

    [Fact]
    public void Price_volatility_is_the_sample_std_dev_of_log_changes()
    {
        EconomyMetrics.PriceVolatility([1.0, 1.0, 1.0]).ShouldBe(0);
        // changes ln 2, ln 0.5 -> mean 0, sample variance (ln2^2 + ln2^2) / 1
        EconomyMetrics.PriceVolatility([1.0, 2.0, 1.0]).ShouldBe(Math.Sqrt(2) * Math.Log(2), 1e-12);
        // steady growth has no volatility
        EconomyMetrics.PriceVolatility([1.0, 1.1, 1.21, 1.331]).ShouldBe(0, 1e-12);
        EconomyMetrics.PriceVolatility([5.0]).ShouldBe(0);
        Should.Throw<ArgumentException>(() => EconomyMetrics.PriceVolatility([1.0, 0.0]));
    }
}
