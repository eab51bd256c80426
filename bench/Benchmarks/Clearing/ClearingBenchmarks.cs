using BenchmarkDotNet.Attributes;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Benchmarks.Clearing;

/// <summary>
/// Clearing seeded random bids over 4 resources, beside a plain sort of their density keys (the baseline, so the
/// ratio column reads "times the sort"). Target (issue 14): every greedy mechanism at most 3x the sort at 100,000
/// bids; 10,000 bids is the simulator's per-cycle load.
/// The market is contested: total demand is about <see cref="DemandOverSupply"/> times the supply in each kind.
/// Run (short job, fit for a shared machine):
/// dotnet run -c Release --project bench/Benchmarks -- --filter '*ClearingBenchmarks*' --inProcess --launchCount 1 --warmupCount 3 --iterationCount 15
/// </summary>
[MemoryDiagnoser]
public class ClearingBenchmarks
{
    private const double DemandOverSupply = 10;

    private ClearingInput _input = null!;
    private double[] _densities = [];
    private readonly double[] _scratch = new double[100_000];
    private readonly Dictionary<string, IClearingMechanism> _mechanisms = new();

    /// <summary>Number of bids.</summary>
    [Params(10_000, 100_000)]
    public int Bids { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        foreach (var name in new[] { "first-price", "posted-price", "critical-value", "lottery", "uniform-price" })
            _mechanisms[name] = ClearingMechanisms.Create(name);
        _input = RandomMarket(Bids, seed: 2026);
        // The densities first-price sorts by (amount over size normalized by supply), computed once outside the timing.
        var s = _input.Supply;
        _densities = _input.Bids.Select(b => b.Amount / ((double)b.Bundle.CpuMillicores / s.CpuMillicores + (double)b.Bundle.MemoryMiB / s.MemoryMiB
            + (double)b.Bundle.Tokens / s.Tokens + (double)b.Bundle.AttentionBasisPoints / s.AttentionBasisPoints)).ToArray();
    }

    /// <summary>
    /// The yardstick of issue 14: a plain sort of the bids' density keys (a copy of the array, sorted in place), so
    /// BenchmarkDotNet prints every mechanism's time as a ratio to it.
    /// </summary>
    [Benchmark(Baseline = true)]
    public double SortDensityKeys()
    {
        var keys = _scratch.AsSpan(0, _densities.Length);
        _densities.CopyTo(keys);
        keys.Sort();
        return keys[0];
    }

    [Benchmark]
    public ClearingResult FirstPrice() => _mechanisms["first-price"].Clear(_input);

    [Benchmark]
    public ClearingResult PostedPrice() => _mechanisms["posted-price"].Clear(_input);

    [Benchmark]
    public ClearingResult CriticalValue() => _mechanisms["critical-value"].Clear(_input);

    [Benchmark]
    public ClearingResult Lottery() => _mechanisms["lottery"].Clear(_input);

    /// <summary>The reference mechanism that is greedy too (first-price's ranking, one uniform price), held to the same target.</summary>
    [Benchmark]
    public ClearingResult UniformPrice() => _mechanisms["uniform-price"].Clear(_input);

    /// <summary>
    /// Each kind is asked for by 3 bids in 4, uniformly up to twice the mean share that makes demand
    /// <see cref="DemandOverSupply"/> times supply; amounts 1..1000; prices put about half of the bids above cost.
    /// </summary>
    public static ClearingInput RandomMarket(int count, ulong seed)
    {
        var random = new SplitMix64(seed);
        long[] supply = [1_000_000, 4_000_000, 100_000_000, 10_000];
        var meanAsk = supply.Select(s => Math.Max(1, (long)(s * DemandOverSupply / count / 0.75))).ToArray();
        var bids = new Bid[count];
        for (var i = 0; i < count; i++)
        {
            var q = new long[4];
            for (var k = 0; k < 4; k++)
                q[k] = random.NextBelow(4) == 0 ? 0 : random.NextInRange(1, 2 * meanAsk[k] + 1);
            if (q.All(x => x == 0))
                q[0] = 1;
            bids[i] = new Bid($"bid-{i:D7}", $"agent-{i % 5000:D5}", ResourceBundle.Create(q[0], q[1], q[2], q[3]),
                random.NextInRange(1, 1001));
        }
        var prices = new MarketPrices(125.0 / meanAsk[0], 125.0 / meanAsk[1], 125.0 / meanAsk[2], 125.0 / meanAsk[3]);
        return new ClearingInput(bids, ResourceBundle.Create(supply[0], supply[1], supply[2], supply[3]), prices, seed);
    }
}

/// <summary>
/// Critical-value on shapes built to defeat its blocker search: 50,000 small winners, then 50,000 rejected bids
/// that fall short alternately in CPU and in memory (alone, or both at once). A single min-tree would visit
/// every node for every winner; grouping the deficits keeps each query short.
/// </summary>
[MemoryDiagnoser]
public class CriticalValueAdversarialBenchmarks
{
    private ClearingInput _input = null!;
    private readonly CriticalValueMechanism _mechanism = new();

    /// <summary>Whether each rejected bid falls short in both kinds (one by a lot, one by one unit).</summary>
    [Params(false, true)]
    public bool ShortInBoth { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var bids = new List<Bid>();
        for (var i = 0; i < 50_000; i++)
            bids.Add(new Bid($"w{i:D6}", "small", ResourceBundle.Create(1, 1), 1000));
        for (var i = 0; i < 50_000; i++)
        {
            var bundle = ShortInBoth
                ? (i % 2 == 0 ? ResourceBundle.Create(60_000, 50_001) : ResourceBundle.Create(50_001, 60_000))
                : (i % 2 == 0 ? ResourceBundle.Create(60_000, 0) : ResourceBundle.Create(0, 60_000));
            bids.Add(new Bid($"r{i:D6}", "large", bundle, 1));
        }
        _input = new ClearingInput(bids, ResourceBundle.Create(100_000, 100_000), MarketPrices.Zero);
    }

    [Benchmark]
    public ClearingResult Clear() => _mechanism.Clear(_input);
}
