using Bogus;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Strategies;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;

namespace CyAgents.Orchestrator.Simulation.Population;

/// <summary>
/// Draws populations. Identities come from Bogus (its own <see cref="Randomizer"/> seeded locally, never the
/// global seed, so concurrent runs cannot disturb each other); every number comes from MathNet's MT19937
/// (<see cref="MersenneTwister"/>), whose sequence for a seed is fixed by the algorithm. The order of draws is
/// fixed per agent, so the same seed always gives the same population.
/// </summary>
public static class PopulationGenerator
{
    public static IReadOnlyList<SyntheticAgent> Generate(PopulationSpec spec, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var rng = new MersenneTwister(SeedStreams.Derive(seed, "population"), threadSafe: false);
        var names = new AgentNames(SeedStreams.Derive(seed, "names"));
        var strategies = Apportion(spec.Mix, count, rng);
        var attentionShare = Math.Min(0.1, spec.AttentionSeekers / count);
        // Skill has a stream of its own: adding it to a population leaves every other draw where it was.
        var skillRng = spec.Skill is null ? null : new MersenneTwister(SeedStreams.Derive(seed, "skill"), threadSafe: false);
        var agents = new SyntheticAgent[count];
        for (var i = 0; i < count; i++)
        {
            // Every agent consumes the same draws in the same order, whatever its strategy.
            var endowmentDraw = spec.Endowment.Sample(rng);
            var cpu = spec.Cpu.Sample(rng);
            var memory = spec.Memory.Sample(rng);
            var tokens = spec.Tokens.Sample(rng);
            var usesTokens = rng.NextDouble() < spec.TokenUserShare;
            var attention = spec.Attention.Sample(rng);
            var seeksAttention = rng.NextDouble() < attentionShare;
            var valueDraw = spec.TaskValue.Sample(rng);
            var rate = spec.ArrivalRate * spec.ArrivalSpread.Sample(rng);
            var shade = spec.Shade.Sample(rng);

            var demand = ResourceBundle.Create(
                cpu, memory,
                usesTokens ? tokens : 0,
                seeksAttention ? attention : 0);
            // Bigger jobs are worth more, but less than proportionally: value densities spread out.
            var relativeSize = (cpu / 500.0 + memory / 512.0) / 2;
            var endowment = (long)Math.Round(Math.Min(endowmentDraw, spec.EndowmentCap));
            var income = Math.Max(1, (long)Math.Round(endowment * spec.IncomeRate));
            var strategy = strategies[i];
            agents[i] = new SyntheticAgent(i, AgentId(i), names.Next(), strategy.Name, strategy, demand,
                valueDraw * Math.Sqrt(relativeSize), rate, endowment, income)
            {
                Shade = shade,
                Skill = skillRng is null ? SyntheticAgent.DefaultSkill : Math.Clamp(spec.Skill!.Sample(skillRng), 0, 1),
                Alternatives = spec.Alternatives,
            };
        }
        return agents;
    }

    public static string AgentId(int index) => "a" + index.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Exact counts per strategy by largest remainder, then a seeded Fisher-Yates shuffle.</summary>
    private static BiddingStrategy[] Apportion(IReadOnlyList<StrategyShare> mix, int count, System.Random rng)
    {
        var total = mix.Sum(s => s.Weight);
        if (mix.Count == 0 || total <= 0)
            throw new ArgumentException("a strategy mix needs at least one positive weight", nameof(mix));
        var exact = mix.Select(s => s.Weight / total * count).ToArray();
        var counts = exact.Select(e => (int)Math.Floor(e)).ToArray();
        var order = Enumerable.Range(0, mix.Count).OrderByDescending(i => exact[i] - counts[i]).ThenBy(i => i).ToArray();
        for (var r = 0; counts.Sum() < count; r++)
            counts[order[r % order.Length]]++;
        var result = new BiddingStrategy[count];
        var at = 0;
        for (var s = 0; s < mix.Count; s++)
        {
            for (var c = 0; c < counts[s]; c++)
                result[at++] = mix[s].Strategy;
        }
        for (var i = count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (result[i], result[j]) = (result[j], result[i]);
        }
        return result;
    }
}

/// <summary>Human-looking display names from Bogus, seeded locally.</summary>
public sealed class AgentNames(int seed)
{
    private readonly Faker _faker = new("en") { Random = new Randomizer(seed) };

    public string Next() => _faker.Name.FullName();
}

/// <summary>Derives independent, stable 31-bit seeds for named random streams from the run's seed.</summary>
public static class SeedStreams
{
    public static int Derive(int seed, string stream)
    {
        // FNV-1a over the stream name mixed with the seed, then SplitMix64's finalizer: stable across runtimes
        // (string.GetHashCode is randomized per process, so it must not be used here).
        var h = 14695981039346656037UL ^ (ulong)(uint)seed;
        foreach (var ch in stream)
            h = (h ^ ch) * 1099511628211UL;
        return (int)(Mix(h) & 0x7FFF_FFFF);
    }

    public static ulong Derive(int seed, string stream, long counter) =>
        Mix((ulong)Derive(seed, stream) * 0x9E3779B97F4A7C15UL + (ulong)counter);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
