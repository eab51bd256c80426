using Xunit.Abstractions;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Metrics;

namespace CyAgents.Economy.Tests.Clearing;

/// <summary>Welfare of each mechanism against <c>optimal</c> on 200 seeded random small instances.</summary>
public sealed class EfficiencyTests(ITestOutputHelper output)
{
    public static TheoryData<string, double, double> Bounds => new()
    {
        // mechanism, lowest acceptable mean, lowest acceptable minimum: sane floors below what was measured
        // (first-price 0.978/0.789, critical-value 0.987/0.900, posted-price 0.979/0.770, lottery 0.876/0.487)
        { "optimal", 1.0, 1.0 },
        { "first-price", 0.9, 0.5 },
        { "critical-value", 0.9, 0.6 },
        { "posted-price", 0.85, 0.4 },
        { "lottery", 0.75, 0.3 },
    };

    [Theory]
    [MemberData(nameof(Bounds))]
    public void Efficiency_against_optimal_over_200_random_instances(string name, double minimumMean, double minimumWorst)
    {
        var mechanism = ClearingMechanisms.Create(name);
        var optimal = new OptimalMechanism();
        var random = new SplitMix64(2026);
        var efficiencies = new List<double>();
        for (var round = 0; round < 200; round++)
        {
            var input = ClearingInstances.Random(random, (int)random.NextInRange(5, 21), ClearingInstances.ModeratePrices);
            efficiencies.Add(EconomyMetrics.Efficiency(mechanism.Clear(input), optimal.Clear(input)));
        }
        var mean = efficiencies.Average();
        var worst = efficiencies.Min();
        output.WriteLine($"{name}: mean efficiency {mean:F4}, minimum {worst:F4} over {efficiencies.Count} instances");

        efficiencies.ShouldAllBe(e => e <= 1.0 + 1e-12, "nothing beats the optimum");
        mean.ShouldBeGreaterThanOrEqualTo(minimumMean);
        worst.ShouldBeGreaterThanOrEqualTo(minimumWorst);
    }
}
