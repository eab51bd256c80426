namespace CyAgents.Economy.Clearing;

/// <summary>
/// <c>optimal</c>: the exact welfare maximum (the largest sum of winning amounts that fits the supply), the
/// yardstick for efficiency. Branch and bound over the bids in density order, starting from the first-price
/// greedy as incumbent (the best of three greedy orders); the bound at each node is the smallest of the
/// fractional-knapsack values of the undecided bids that still fit, per kind and for the sum of the kinds scaled
/// by what is left of each (a surrogate constraint, tight when several kinds bind). Only a strictly better
/// allocation replaces the incumbent, and every order breaks ties by density order then bid id, so the result is
/// deterministic. Winners pay their bid (it is a benchmark, not a market rule). Exponential in the worst case:
/// refuses more than <see cref="MaxBids"/> bids and gives up, with a clear error, after <see cref="MaxNodes"/> nodes.
/// </summary>
public sealed class OptimalMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "optimal";

    /// <summary>Largest number of bids accepted.</summary>
    public const int MaxBids = 40;

    /// <summary>Search nodes explored before giving up.</summary>
    public const long MaxNodes = 50_000_000;

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Bids is { Count: > MaxBids })
            throw new ClearingInputException(
                $"optimal clears at most {MaxBids} bids exactly (got {input.Bids.Count}); use it on small instances only");
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        var density = new double[n];
        for (var i = 0; i < n; i++)
            density[i] = bids.Bids[i].Amount / bids.NormalizedSize[i];
        var order = bids.OrderByDescending(density);

        var search = new Search(bids, order);
        search.Run();

        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(bids.Count);
        for (var d = 0; d < n; d++)
        {
            var i = order[d];
            if (search.Best[d])
            {
                bids.Take(i, remaining);
                winners.Add(bids.Allocate(i, bids.Bids[i].Amount));
            }
            else
                losers.Add(bids.Ids[i]);
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    private sealed class Search
    {
        private const int K = PreparedBids.Kinds;
        private readonly PreparedBids _bids;
        private readonly int[] _order;
        private readonly long[] _amount;
        private readonly long[] _q;              // by depth, K per bid
        private readonly int[][] _byKindDensity; // per kind, depths sorted by amount / q_k descending
        private readonly bool[] _take;
        private readonly long[] _remaining = new long[K];
        private readonly double[] _scratchWeight, _scratchDensity;
        private readonly long[] _scratchAmount;
        private readonly int[] _scratchIndex;
        private long _welfare;
        private long _bestWelfare = -1;
        private long _nodes;

        public bool[] Best { get; }

        public Search(PreparedBids bids, int[] order)
        {
            _bids = bids;
            _order = order;
            var n = order.Length;
            _amount = new long[n];
            _q = new long[n * K];
            for (var d = 0; d < n; d++)
            {
                _amount[d] = bids.Bids[order[d]].Amount;
                bids.Quantity.AsSpan(order[d] * K, K).CopyTo(_q.AsSpan(d * K, K));
            }
            _byKindDensity = new int[K][];
            for (var k = 0; k < K; k++)
            {
                var kind = k;
                _byKindDensity[k] = Enumerable.Range(0, n)
                    .OrderByDescending(d => _q[d * K + kind] == 0 ? double.PositiveInfinity : (double)_amount[d] / _q[d * K + kind])
                    .ThenBy(d => d)
                    .ToArray();
            }
            _take = new bool[n];
            Best = new bool[n];
            _scratchWeight = new double[n];
            _scratchDensity = new double[n];
            _scratchAmount = new long[n];
            _scratchIndex = new int[n];
            bids.Supply.CopyTo(_remaining, 0);
        }

        public void Run()
        {
            // A good first incumbent makes most of the tree prunable: the best of three greedy orders
            // (by amount / size, by amount / sqrt(size), by amount), each a feasible allocation.
            var n = _take.Length;
            var size = new double[n];
            for (var d = 0; d < n; d++)
                size[d] = _bids.NormalizedSize[_order[d]];
            foreach (var key in new Func<int, double>[] { d => _amount[d] / size[d], d => _amount[d] / Math.Sqrt(size[d]), d => _amount[d] })
            {
                // Stable on depth, so ties keep the density order and the incumbent is deterministic.
                var sequence = Enumerable.Range(0, n).OrderByDescending(key).ThenBy(d => d).ToArray();
                var greedy = new bool[n];
                var remaining = (long[])_remaining.Clone();
                long welfare = 0;
                foreach (var d in sequence)
                {
                    if (Fits(d, remaining))
                    {
                        Take(d, remaining, +1);
                        greedy[d] = true;
                        welfare += _amount[d];
                    }
                }
                if (welfare > _bestWelfare)
                {
                    _bestWelfare = welfare;
                    greedy.CopyTo(Best, 0);
                }
            }
            Branch(0);
        }

        private void Branch(int depth)
        {
            if (++_nodes > MaxNodes)
                throw new ClearingInputException(
                    $"optimal gave up after {MaxNodes} search nodes on {_take.Length} bids; use a smaller instance");
            if (depth == _take.Length)
            {
                if (_welfare > _bestWelfare)
                {
                    _bestWelfare = _welfare;
                    _take.CopyTo(Best, 0);
                }
                return;
            }
            // Only a strictly better (so at least one credit better) allocation replaces the incumbent.
            var bound = UpperBound(depth);
            if (_welfare + bound < _bestWelfare + 1 - 1e-9 * Math.Max(1, _bestWelfare))
                return;

            if (Fits(depth, _remaining))
            {
                Take(depth, _remaining, +1);
                _take[depth] = true;
                _welfare += _amount[depth];
                Branch(depth + 1);
                _welfare -= _amount[depth];
                _take[depth] = false;
                Take(depth, _remaining, -1);
            }
            Branch(depth + 1);
        }

        /// <summary>Minimum over kinds of the fractional knapsack over undecided bids that fit what is left.</summary>
        private double UpperBound(int depth)
        {
            double best = double.PositiveInfinity;
            for (var k = 0; k < K; k++)
            {
                double value = 0;
                double capacity = _remaining[k];
                foreach (var d in _byKindDensity[k])
                {
                    if (d < depth || !Fits(d, _remaining))
                        continue;
                    var q = _q[d * K + k];
                    if (q <= capacity)
                    {
                        value += _amount[d];
                        capacity -= q;
                    }
                    else
                    {
                        value += _amount[d] * (capacity / q);
                        break;
                    }
                }
                best = Math.Min(best, value);
            }
            return Math.Min(best, SurrogateBound(depth));
        }

        /// <summary>
        /// The fractional knapsack of the one constraint sum_k q_k / R_k &lt;= K (the kinds added up, each scaled by
        /// what is left of it). Much tighter than any single kind when several kinds bind at once.
        /// </summary>
        private double SurrogateBound(int depth)
        {
            var count = 0;
            for (var d = depth; d < _take.Length; d++)
            {
                if (!Fits(d, _remaining))
                    continue;
                double weight = 0;
                for (var k = 0; k < K; k++)
                {
                    if (_q[d * K + k] > 0)
                        weight += (double)_q[d * K + k] / _remaining[k];
                }
                _scratchWeight[count] = weight;
                _scratchDensity[count] = -_amount[d] / weight;
                _scratchAmount[count] = _amount[d];
                _scratchIndex[count] = count;
                count++;
            }
            Array.Sort(_scratchDensity, _scratchIndex, 0, count);
            double capacity = K, value = 0;
            for (var c = 0; c < count; c++)
            {
                var item = _scratchIndex[c];
                if (_scratchWeight[item] <= capacity)
                {
                    value += _scratchAmount[item];
                    capacity -= _scratchWeight[item];
                }
                else
                {
                    value += _scratchAmount[item] * (capacity / _scratchWeight[item]);
                    break;
                }
            }
            return value;
        }

        private bool Fits(int d, long[] remaining)
        {
            var q = _q.AsSpan(d * K, K);
            return q[0] <= remaining[0] && q[1] <= remaining[1] && q[2] <= remaining[2] && q[3] <= remaining[3];
        }

        private void Take(int d, long[] remaining, int sign)
        {
            for (var k = 0; k < K; k++)
                remaining[k] -= sign * _q[d * K + k];
        }
    }
}
