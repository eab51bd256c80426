namespace CyAgents.Economy.Clearing;

/// <summary>
/// An upper bound on the optimal welfare (the largest sum of amounts that fits the supply) at any number of bids:
/// the Lagrangian dual of the multi-dimensional knapsack, whose best value is its LP relaxation's. For any prices
/// λ_k ≥ 0 per unit of supply share, weak duality gives
/// <c>OPT ≤ L(λ) = Σ_k λ_k + Σ_i max(0, v_i − Σ_k λ_k q_ik / S_k)</c>, so every λ tried is a valid bound and the
/// smallest one found is returned; the search only decides how tight it is. The search is exact coordinate descent
/// (each λ_k set to the critical ratio of the fractional knapsack of kind k given the others: the dual of one
/// constraint) followed by Polyak subgradient steps toward a greedy lower bound, which escape the corners where
/// coordinate descent stalls on a piecewise-linear dual.
/// </summary>
/// <remarks>
/// Soundness does not depend on convergence: <c>L(λ)</c> is evaluated for the λ returned and only that value
/// counts. Floating-point error in the sum is at most about n·2⁻⁵² of its magnitude; the bound adds a relative slack
/// of 1e-9 (far above that for n ≤ 10⁶) and then rounds down, since the optimum is a whole number of credits. It
/// is never above Σ v_i (λ = 0) nor below the greedy allocation it found (which is feasible). Cost:
/// O(K·n) expected per coordinate round (a weighted quickselect) plus O(K·n) per subgradient step, K = 4 kinds; deterministic (no randomness,
/// fixed step counts).
/// </remarks>
public static class WelfareBound
{
    /// <summary>Coordinate-descent rounds over all kinds.</summary>
    public const int CoordinateRounds = 6;

    /// <summary>Subgradient steps after coordinate descent.</summary>
    public const int SubgradientSteps = 40;

    private const int K = PreparedBids.Kinds;

    /// <summary>An upper bound on the welfare <c>optimal</c> would find for <paramref name="input"/> (same validation as every mechanism).</summary>
    public static long UpperBound(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        if (n == 0)
            return 0;
        var value = new double[n];
        var share = new double[n * K]; // q_ik / S_k; kinds without supply are never asked for and stay 0
        long total = 0;
        for (var i = 0; i < n; i++)
        {
            value[i] = bids.Bids[i].Amount;
            total += bids.Bids[i].Amount;
            for (var k = 0; k < K; k++)
            {
                if (bids.Supply[k] > 0)
                    share[i * K + k] = (double)bids.Quantity[i * K + k] / bids.Supply[k];
            }
        }
        var feasible = GreedyWelfare(bids);
        var dual = new Dual(value, share, n);
        var best = dual.Search(feasible);
        var rounded = (long)Math.Floor(best * (1 + 1e-9) + 1e-6);
        return Math.Clamp(rounded, feasible, total);
    }

    /// <summary>Welfare of taking bids by amount over normalized size while they fit: a feasible allocation, so a lower bound.</summary>
    private static long GreedyWelfare(PreparedBids bids)
    {
        var density = new double[bids.Count];
        for (var i = 0; i < bids.Count; i++)
            density[i] = bids.Bids[i].Amount / bids.NormalizedSize[i];
        Span<long> remaining = stackalloc long[K];
        bids.Supply.CopyTo(remaining);
        long welfare = 0;
        foreach (var i in bids.OrderByDescending(density))
        {
            if (!bids.Fits(i, remaining))
                continue;
            bids.Take(i, remaining);
            welfare += bids.Bids[i].Amount;
        }
        return welfare;
    }

    private sealed class Dual(double[] value, double[] share, int n)
    {
        private readonly double[] _lambda = new double[K];
        private readonly double[] _keys = new double[n];
        private readonly double[] _weights = new double[n];

        public double Search(long feasible)
        {
            var best = Evaluate(_lambda, null);
            for (var round = 0; round < CoordinateRounds; round++)
            {
                var before = best;
                for (var k = 0; k < K; k++)
                {
                    _lambda[k] = CoordinateMinimum(k);
                    best = Math.Min(best, Evaluate(_lambda, null));
                }
                if (before - best <= 1e-9 * Math.Max(1, best))
                    break;
            }

            // Polyak steps: λ ← max(0, λ − (L(λ) − LB)/‖g‖² · g); keep the best λ seen.
            var lambda = (double[])_lambda.Clone();
            var gradient = new double[K];
            var current = Evaluate(lambda, gradient);
            var scale = 1.0;
            for (var step = 0; step < SubgradientSteps; step++)
            {
                double norm = 0;
                for (var k = 0; k < K; k++)
                {
                    // A kind at zero price with spare supply cannot move down; leave it out of the step.
                    if (lambda[k] <= 0 && gradient[k] > 0)
                        gradient[k] = 0;
                    norm += gradient[k] * gradient[k];
                }
                var gap = current - feasible;
                if (norm <= 0 || gap <= 1e-9 * Math.Max(1, current))
                    break;
                for (var k = 0; k < K; k++)
                    lambda[k] = Math.Max(0, lambda[k] - scale * gap / norm * gradient[k]);
                var next = Evaluate(lambda, gradient);
                if (next < best)
                    best = next;
                else
                    scale *= 0.7;
                current = next;
            }
            return best;
        }

        /// <summary>L(λ), and its subgradient when <paramref name="gradient"/> is given: 1 − Σ over bids with positive reduced value of their share.</summary>
        private double Evaluate(double[] lambda, double[]? gradient)
        {
            double sum = 0;
            if (gradient is not null)
                Array.Fill(gradient, 1.0);
            for (var k = 0; k < K; k++)
                sum += lambda[k];
            for (var i = 0; i < n; i++)
            {
                var s = share.AsSpan(i * K, K);
                var reduced = value[i] - lambda[0] * s[0] - lambda[1] * s[1] - lambda[2] * s[2] - lambda[3] * s[3];
                if (reduced <= 0)
                    continue;
                sum += reduced;
                if (gradient is not null)
                {
                    for (var k = 0; k < K; k++)
                        gradient[k] -= s[k];
                }
            }
            return sum;
        }

        /// <summary>
        /// The exact minimum of L over λ_k with the other prices fixed: the critical ratio of the fractional knapsack
        /// of kind k over the reduced values (where the shares of the bids still worth taking first exceed the supply).
        /// </summary>
        private double CoordinateMinimum(int k)
        {
            var count = 0;
            double demand = 0;
            for (var i = 0; i < n; i++)
            {
                var w = share[i * K + k];
                if (w <= 0)
                    continue;
                var s = share.AsSpan(i * K, K);
                var reduced = value[i];
                for (var j = 0; j < K; j++)
                {
                    if (j != k)
                        reduced -= _lambda[j] * s[j];
                }
                if (reduced <= 0)
                    continue;
                _keys[count] = reduced / w;
                _weights[count] = w;
                demand += w;
                count++;
            }
            return demand <= 1 ? 0 : CriticalRatio(count);
        }

        /// <summary>
        /// The largest key whose own weight, with the weights of every larger key, reaches the supply (1): a weighted
        /// quickselect in expected O(count), where a sort would cost O(count log count). Deterministic pivots.
        /// </summary>
        private double CriticalRatio(int count)
        {
            var keys = _keys;
            var weights = _weights;
            double need = 1;
            int lo = 0, hi = count - 1;
            while (lo < hi)
            {
                var pivot = MedianOfThree(keys[lo], keys[lo + (hi - lo) / 2], keys[hi]);
                // Three-way partition, larger keys first: [lo, gt) > pivot, [gt, i) == pivot, (lt, hi] < pivot.
                int gt = lo, i = lo, lt = hi;
                while (i <= lt)
                {
                    if (keys[i] > pivot)
                        Swap(gt++, i++);
                    else if (keys[i] < pivot)
                        Swap(i, lt--);
                    else
                        i++;
                }
                double above = 0, equal = 0;
                for (var j = lo; j < gt; j++)
                    above += weights[j];
                for (var j = gt; j <= lt; j++)
                    equal += weights[j];
                if (above >= need)
                    hi = gt - 1;
                else if (above + equal >= need)
                    return pivot;
                else
                {
                    need -= above + equal;
                    lo = lt + 1;
                }
            }
            return lo == hi ? keys[lo] : 0;
        }

        private static double MedianOfThree(double a, double b, double c) =>
            Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));

        private void Swap(int a, int b)
        {
            (_keys[a], _keys[b]) = (_keys[b], _keys[a]);
            (_weights[a], _weights[b]) = (_weights[b], _weights[a]);
        }
    }
}
