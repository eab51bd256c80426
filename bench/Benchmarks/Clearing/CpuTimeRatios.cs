using System.Runtime.InteropServices;
using CyAgents.Economy.Clearing;

namespace CyAgents.Benchmarks.Clearing;

/// <summary>
/// The clearing ratios of <see cref="ClearingBenchmarks"/> in CPU time of the calling thread (clock_gettime, Linux),
/// interleaved round by round with the sort, so a machine shared with other builds gives the same ratios: wall
/// time on an overloaded machine penalizes whatever runs longer than a scheduler time slice, CPU time does not.
/// Prints, per mechanism, the median and the 10th and 90th percentiles of (mechanism CPU time / sort CPU time)
/// over the rounds. Run: dotnet run -c Release --project bench/Benchmarks -- cpu-ratios [bids] [rounds]
/// </summary>
public static class CpuTimeRatios
{
    private static readonly string[] Mechanisms = ["first-price", "posted-price", "critical-value", "lottery", "uniform-price"];

    public static void Run(int bids, int rounds)
    {
        var input = ClearingBenchmarks.RandomMarket(bids, seed: 2026);
        var benchmark = new ClearingBenchmarks { Bids = bids };
        benchmark.Setup();
        var mechanisms = Mechanisms.Select(ClearingMechanisms.Create).ToArray();
        for (var warm = 0; warm < 3; warm++)
        {
            benchmark.SortDensityKeys();
            foreach (var m in mechanisms)
                m.Clear(input);
        }
        var sorts = new List<double>();
        var ratios = Mechanisms.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < rounds; r++)
        {
            var start = ThreadCpuMicroseconds();
            // The sort is short; repeated so its CPU time is far above the clock's resolution.
            for (var k = 0; k < 5; k++)
                benchmark.SortDensityKeys();
            var sort = (ThreadCpuMicroseconds() - start) / 5.0;
            sorts.Add(sort);
            for (var m = 0; m < mechanisms.Length; m++)
            {
                start = ThreadCpuMicroseconds();
                mechanisms[m].Clear(input);
                ratios[m].Add((ThreadCpuMicroseconds() - start) / sort);
            }
        }
        Console.WriteLine($"{bids} bids, {rounds} rounds: sort median {Percentile(sorts, 0.5) / 1000:F2} ms CPU");
        for (var m = 0; m < mechanisms.Length; m++)
            Console.WriteLine($"{Mechanisms[m],-15} ratio median {Percentile(ratios[m], 0.5):F2}  p10 {Percentile(ratios[m], 0.1):F2}  p90 {Percentile(ratios[m], 0.9):F2}");
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }

    /// <summary>
    /// The calling thread's CPU time from clock_gettime(CLOCK_THREAD_CPUTIME_ID), which the kernel keeps to the
    /// nanosecond. getrusage(RUSAGE_THREAD), used before, samples at the scheduler tick (4 ms here): a 25 ms clearing
    /// then measured 20, 24 or 28 ms and the medians fell on a few values.
    /// </summary>
    private static double ThreadCpuMicroseconds()
    {
        if (GetClockTime(ClockThreadCpuTime, out var time) != 0)
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: CPU-time ratios need Linux");
        return time.Seconds * 1e6 + time.Nanoseconds / 1e3;
    }

    private const int ClockThreadCpuTime = 3;

    /// <summary>struct timespec on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int GetClockTime(int clock, out TimeSpec time);
}
