using CyAgents.Economy.Clearing;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Metrics;

/// <summary>One agent in one cycle, as starvation sees it.</summary>
/// <param name="Bid">The agent bid this cycle.</param>
/// <param name="Won">One of its bids won.</param>
/// <param name="Funded">It could afford to bid (available balance above zero).</param>
public readonly record struct AgentCycleOutcome(bool Bid, bool Won, bool Funded);

/// <summary>The worst starvation found: the agent and the length of its longest run.</summary>
/// <param name="AgentId">The agent with the longest run (ties: smallest ordinal id); null when nobody starved.</param>
/// <param name="LongestRun">Cycles in that run; 0 when nobody starved.</param>
public sealed record StarvationReport(string? AgentId, int LongestRun);

/// <summary>
/// Measures of a clearing or of a run of cycles: welfare, efficiency, revenue, utilization, fairness (Gini, Jain),
/// individual rationality, starvation and price volatility. Pure functions of their inputs.
/// </summary>
public static class EconomyMetrics
{
    /// <summary>Welfare by reported values: the sum of the winners' amounts.</summary>
    public static long Welfare(ClearingResult result) => result.Welfare;

    /// <summary>
    /// Welfare by true values: the sum of <paramref name="valueOf"/> over the winners' bid ids (for simulations,
    /// where agents may bid other than their value).
    /// </summary>
    public static long Welfare(ClearingResult result, Func<string, long> valueOf) =>
        result.Winners.Sum(w => valueOf(w.BidId));

    /// <summary>Welfare over the optimum's, in [0, 1] for feasible results; 1 when the optimum is 0.</summary>
    public static double Efficiency(long welfare, long optimalWelfare) =>
        optimalWelfare <= 0 ? 1 : (double)welfare / optimalWelfare;

    /// <summary>Efficiency of <paramref name="result"/> against <paramref name="optimal"/> (the <c>optimal</c> mechanism's result).</summary>
    public static double Efficiency(ClearingResult result, ClearingResult optimal) => Efficiency(result.Welfare, optimal.Welfare);

    /// <summary>Sum of the winners' payments.</summary>
    public static long Revenue(ClearingResult result) => result.Revenue;

    /// <summary>Utilization of each kind, in <see cref="ResourceKinds.All"/> order.</summary>
    public static IReadOnlyList<double> Utilization(ClearingResult result) =>
        ResourceKinds.All.Select(result.Utilization).ToArray();

    /// <summary>
    /// Gini coefficient of non-negative amounts (wealth, wins, resources), in [0, 1 − 1/n]: 0 when all are equal.
    /// 0 for no values or all zeros. Computed as Σ(2i − n − 1)·x_(i) / (n·Σx) over the sorted values.
    /// </summary>
    public static double Gini(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        if (sorted.Any(v => v < 0 || !double.IsFinite(v)))
            throw new ArgumentException("Gini needs finite, non-negative values", nameof(values));
        Array.Sort(sorted);
        var n = sorted.Length;
        var total = sorted.Sum();
        if (n == 0 || total == 0)
            return 0;
        double weighted = 0;
        for (var i = 0; i < n; i++)
            weighted += (2.0 * (i + 1) - n - 1) * sorted[i];
        return weighted / (n * total);
    }

    /// <summary>Gini coefficient of whole amounts (e.g. credit balances).</summary>
    public static double Gini(IEnumerable<long> values) => values is long[] array ? Gini((ReadOnlySpan<long>)array) : Gini(values.Select(v => (double)v));

    /// <summary>
    /// Gini coefficient of whole amounts, as <see cref="Gini(IEnumerable{double})"/> computes it from the same values as
    /// doubles, to the bit: the amounts are radix-sorted as integers (a simulator takes the Gini of 10,000 balances every
    /// cycle, and a comparison sort of doubles was most of that), and converting in sorted order is the same sequence.
    /// </summary>
    public static double Gini(ReadOnlySpan<long> values)
    {
        var n = values.Length;
        var sorted = System.Buffers.ArrayPool<ulong>.Shared.Rent(Math.Max(1, n));
        try
        {
            for (var i = 0; i < n; i++)
            {
                if (values[i] < 0)
                    throw new ArgumentException("Gini needs finite, non-negative values", nameof(values));
                sorted[i] = (ulong)values[i];
            }
            var keys = sorted.AsSpan(0, n);
            Clearing.RadixSort.Sort(keys, 0);
            double total = 0;
            for (var i = 0; i < n; i++)
                total += keys[i];
            if (n == 0 || total == 0)
                return 0;
            double weighted = 0;
            for (var i = 0; i < n; i++)
                weighted += (2.0 * (i + 1) - n - 1) * keys[i];
            return weighted / (n * total);
        }
        finally
        {
            System.Buffers.ArrayPool<ulong>.Shared.Return(sorted);
        }
    }

    /// <summary>
    /// Jain's fairness index (Σx)² / (n·Σx²), in [1/n, 1]: 1 when all are equal, 1/n when one has everything.
    /// 1 for no values or all zeros (nobody is favoured).
    /// </summary>
    public static double JainIndex(IEnumerable<double> values)
    {
        var x = values.ToArray();
        if (x.Any(v => v < 0 || !double.IsFinite(v)))
            throw new ArgumentException("Jain's index needs finite, non-negative values", nameof(values));
        var sum = x.Sum();
        var squares = x.Sum(v => v * v);
        return x.Length == 0 || squares == 0 ? 1 : sum * sum / (x.Length * squares);
    }

    /// <summary>Jain's index of whole amounts.</summary>
    public static double JainIndex(IEnumerable<long> values) => JainIndex(values.Select(v => (double)v));

    /// <summary>
    /// Winners charged more than their true value (individual-rationality violations), by bid id in ordinal order.
    /// <paramref name="valueOf"/> gives a bid's true value; with reported values (the amounts) no mechanism here
    /// ever violates it, since payments never exceed bids.
    /// </summary>
    public static IReadOnlyList<string> RationalityViolations(ClearingResult result, Func<string, long>? valueOf = null)
    {
        return result.Winners.Where(w => w.Payment > (valueOf is null ? w.Amount : valueOf(w.BidId)))
            .Select(w => w.BidId).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Longest run of consecutive cycles in which one agent bid, was funded and lost. A win or an unfunded
    /// cycle ends the run; a cycle without a bid neither extends nor ends it (not bidding is the agent's choice,
    /// not the market's). Histories are per agent, oldest cycle first.
    /// </summary>
    public static StarvationReport Starvation(IReadOnlyDictionary<string, IReadOnlyList<AgentCycleOutcome>> histories)
    {
        ArgumentNullException.ThrowIfNull(histories);
        string? worstAgent = null;
        var worst = 0;
        foreach (var (agent, history) in histories.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            var longest = LongestStarvation(history);
            if (longest > worst)
            {
                worst = longest;
                worstAgent = agent;
            }
        }
        return new StarvationReport(worstAgent, worst);
    }

    /// <summary>Longest starvation run of one agent (see <see cref="Starvation"/>).</summary>
    public static int LongestStarvation(IEnumerable<AgentCycleOutcome> history)
    {
        int run = 0, longest = 0;
        foreach (var cycle in history)
        {
            if (!cycle.Bid)
                continue;
            if (cycle.Won || !cycle.Funded)
            {
                run = 0;
                continue;
            }
            longest = Math.Max(longest, ++run);
        }
        return longest;
    }

    /// <summary>
    /// Price volatility: the sample standard deviation of the log price changes ln(p_t / p_(t−1)).
    /// 0 with fewer than two changes. Prices must be positive (the pricing rule's floor keeps them so).
    /// </summary>
    public static double PriceVolatility(IReadOnlyList<double> prices)
    {
        ArgumentNullException.ThrowIfNull(prices);
        if (prices.Any(p => !(p > 0) || !double.IsFinite(p)))
            throw new ArgumentException("price volatility needs positive, finite prices", nameof(prices));
        if (prices.Count < 3)
            return 0;
        var changes = new double[prices.Count - 1];
        for (var t = 1; t < prices.Count; t++)
            changes[t - 1] = Math.Log(prices[t] / prices[t - 1]);
        var mean = changes.Average();
        var variance = changes.Sum(c => (c - mean) * (c - mean)) / (changes.Length - 1);
        return Math.Sqrt(variance);
    }
}
