namespace CyAgents.Economy.Clearing;

/// <summary>
/// <c>critical-value</c>: the Lehmann–O'Callaghan–Shoham greedy for single-minded bidders. Bids are ranked by
/// amount / sqrt(normalized size) and accepted while they fit; each winner pays its critical value, the lowest
/// whole-credit amount at which it would still have won (never more than its bid); losers pay nothing.
/// Truthful for single-minded bidders because winning is monotone in the amount and the payment does not
/// depend on it.
/// </summary>
/// <remarks>
/// <para>
/// Critical values without re-running the greedy. Rerunning without winner <c>i</c> from its position starts
/// with <c>b_i</c> more capacity than the real run had; while the two runs agree, that surplus stays intact and
/// <c>i</c> still fits. They first disagree at the first later bid <c>j</c> that the real run rejected but that
/// fits with <c>b_i</c> added back, i.e. whose deficit <c>d_j = max(0, b_j - R_j)</c> (R_j: capacity left when
/// <c>j</c> was considered) is at most <c>b_i</c> in every kind. Taking <c>j</c> leaves less than <c>b_i</c> in
/// some kind, for good. So <c>i</c> wins exactly when it ranks before that <c>j</c>, and its critical value is
/// <c>j</c>'s key times sqrt(size_i); with no such <c>j</c> it is 0 (it wins at any price).
/// </para>
/// <para>
/// Complexity: O(n log n) for the sort, O(n) for the greedy pass, O(r) to build min-trees over the r rejected
/// bids' deficits (grouped by the kinds they fell short in and the kind they fell shortest in), and one query per
/// winner that descends only into subtrees whose per-kind minimum fits the winner's bundle: O(log n) per group
/// in practice, at most 32 groups. Total O(n log n + w·log n) typical; a contrived mix of deficits can still make
/// a query visit O(r) nodes, so O(n log n + w·r) is the worst case. O(n) extra memory, no per-winner copies.
/// </para>
/// <para>
/// One win per agent (<see cref="ClearingInput.OneWinPerAgent"/>): a bid whose agent already won loses. For the
/// winner's critical value its own agent's later bids count as blockers too: without the winner, the first of
/// them that fits (with the winner's bundle given back) would be taken and the winner would then lose by the rule.
/// So the blocker is the earlier of the first shared one and the first own one, and added bids can only raise
/// what the agent's winning bid pays (ADR 0122). Reserve: a bid below its bundle's reserve cost loses before the
/// greedy sees it, and a winner pays max(critical value, reserve cost) (ADR 0123).
/// </para>
/// </remarks>
public sealed class CriticalValueMechanism : IClearingMechanism
{
    private const int K = PreparedBids.Kinds;

    /// <summary>The registry name.</summary>
    public const string MechanismName = "critical-value";

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        using var sqrtSizes = new Scratch<double>(n);
        using var keys = new Scratch<double>(n);
        var sqrtSize = sqrtSizes.Array;
        var key = keys.Array;
        for (var i = 0; i < n; i++)
        {
            sqrtSize[i] = Math.Sqrt(bids.NormalizedSize[i]);
            key[i] = bids.Amount[i] / sqrtSize[i];
        }
        // amount / sqrt(size) orders as amount^2 / size, which integers compare exactly.
        using var ordered = new Scratch<int>(n);
        var order = ordered.Span;
        bids.OrderByExactKey(key, power: 2, order);
        var reserve = input.Reserve;

        // The greedy pass, remembering each rejected bid's deficit and, per winner, how many rejections preceded it.
        // Under one win per agent, a later bid of a winner's agent is rejected for that reason alone; it can block
        // only its own agent's winner (in the run without that winner it may be taken, and then the winner loses by
        // the same rule), so it goes to that winner's own blocker, not to the shared trees.
        Span<long> remaining = stackalloc long[K];
        bids.Supply.CopyTo(remaining);
        var winnerBids = new List<int>();
        var winnerFirstRejection = new List<int>();
        var winnerReserve = new List<long>();
        var winnerOwnBlocker = new List<int>();
        // Per agent: 1 + the index of its winner among winnerBids, 0 while it has none.
        using var winnerOfAgent = new Scratch<int>(input.OneWinPerAgent ? bids.AgentCount : 0);
        var winnerOf = input.OneWinPerAgent ? winnerOfAgent.Array : null;
        using var rejectedBids = new Scratch<int>(n);
        using var deficitsOfRejected = new Scratch<long>(n * K);
        var rejected = rejectedBids.Array;
        var deficits = deficitsOfRejected.Array;
        var rejectedCount = 0;
        var losers = new List<string>(n);
        foreach (var i in order)
        {
            var amount = bids.Amount[i];
            var reserveCost = reserve is null ? 0 : bids.CostOf(i, reserve);
            if (amount < reserveCost)
            {
                // Below its reserve it loses whatever the others bid, so it can block nobody.
                losers.Add(bids.Ids[i]);
                continue;
            }
            if (winnerOf is not null && winnerOf[bids.AgentOf[i]] > 0)
            {
                // Taken in the run without winner w exactly when it fits once w's bundle is given back.
                var w = winnerOf[bids.AgentOf[i]] - 1;
                if (winnerOwnBlocker[w] < 0 && FitsWithGivenBack(bids, i, winnerBids[w], remaining))
                    winnerOwnBlocker[w] = i;
                losers.Add(bids.Ids[i]);
                continue;
            }
            if (bids.Fits(i, remaining))
            {
                bids.Take(i, remaining);
                if (winnerOf is not null)
                    winnerOf[bids.AgentOf[i]] = winnerBids.Count + 1;
                winnerBids.Add(i);
                winnerFirstRejection.Add(rejectedCount);
                winnerReserve.Add(reserveCost);
                winnerOwnBlocker.Add(-1);
            }
            else
            {
                var q = bids.Quantity.AsSpan(i * K, K);
                var d = deficits.AsSpan(rejectedCount * K, K);
                for (var k = 0; k < K; k++)
                    d[k] = Math.Max(0, q[k] - remaining[k]);
                rejected[rejectedCount++] = i;
                losers.Add(bids.Ids[i]);
            }
        }

        using var positions = new Scratch<int>(n);
        var positionOf = positions.Array;
        for (var p = 0; p < n; p++)
            positionOf[order[p]] = p;
        var blockers = new BlockerIndex(deficits, rejectedCount, bids.Supply);
        var winners = new List<Allocation>(winnerBids.Count);
        for (var w = 0; w < winnerBids.Count; w++)
        {
            var i = winnerBids[w];
            var shared = blockers.First(winnerFirstRejection[w], bids.Quantity.AsSpan(i * K, K));
            var blocker = shared < 0 ? -1 : rejected[shared];
            var own = winnerOwnBlocker[w];
            if (own >= 0 && (blocker < 0 || positionOf[own] < positionOf[blocker]))
                blocker = own;
            var critical = blocker < 0 ? 0 : CriticalPayment(bids, i, sqrtSize[i], key[blocker], blocker);
            // A report below the reserve loses, so the threshold is the larger of the two; the bid covers both.
            winners.Add(bids.Allocate(i, Math.Max(critical, winnerReserve[w])));
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>True when bid <paramref name="j"/> fits the remaining capacity plus winner <paramref name="i"/>'s bundle.</summary>
    private static bool FitsWithGivenBack(PreparedBids bids, int j, int i, ReadOnlySpan<long> remaining)
    {
        var q = bids.Quantity.AsSpan(j * K, K);
        var b = bids.Quantity.AsSpan(i * K, K);
        for (var k = 0; k < K; k++)
        {
            if (q[k] > remaining[k] + b[k])
                return false;
        }
        return true;
    }

    /// <summary>
    /// The smallest whole amount r (1 &lt;= r &lt;= bid) whose key r / sqrt(size) still ranks before the blocking bid,
    /// decided by the exact comparison the sort used (ADR 0120), so rounding can never make a lower report win.
    /// The floating-point estimate only says where to start looking.
    /// </summary>
    private static long CriticalPayment(PreparedBids bids, int i, double sqrtSize, double blockerKey, int blocker)
    {
        var bid = bids.Amount[i];
        bool Wins(long r) => bids.RanksBeforeExactly(r, i, blocker, power: 2);

        var estimate = Math.Ceiling(blockerKey * sqrtSize);
        var r = estimate >= bid ? bid : Math.Max(1, (long)estimate);
        while (r > 1 && Wins(r - 1))
            r--;
        while (r < bid && !Wins(r))
            r++;
        return r;
    }

    /// <summary>
    /// Finds, for a winner, the first rejected bid at or after a position whose deficit fits inside the winner's
    /// bundle. Rejected bids are grouped by which kinds they fell short in and by the kind they fell shortest in
    /// (relative to supply), one min-tree per group. A subtree's per-kind minimum only misleads when its leaves
    /// fall short in different kinds; grouping keeps such mixes apart, and a group short in a kind the winner
    /// does not use is skipped outright.
    /// </summary>
    private sealed class BlockerIndex
    {
        private readonly List<(int Mask, int[] Members, DeficitTree Tree)> _groups = [];

        public BlockerIndex(long[] deficits, int count, long[] supply)
        {
            var members = new List<int>?[(1 << K) * K];
            for (var j = 0; j < count; j++)
            {
                var mask = 0;
                var shortest = 0;
                for (var k = 0; k < K; k++)
                {
                    var d = deficits[j * K + k];
                    if (d == 0)
                        continue;
                    mask |= 1 << k;
                    // Validation guarantees supply > 0 wherever a bid asks, hence wherever it falls short.
                    if ((double)d / supply[k] > (double)deficits[j * K + shortest] / Math.Max(1, supply[shortest]))
                        shortest = k;
                }
                (members[mask * K + shortest] ??= []).Add(j);
            }
            for (var group = 0; group < members.Length; group++)
            {
                if (members[group] is { } list)
                    _groups.Add((group / K, list.ToArray(), new DeficitTree(deficits, list)));
            }
        }

        /// <summary>Index (among rejected bids) of the first at or after <paramref name="start"/> whose deficit fits <paramref name="bundle"/>; -1 if none.</summary>
        public int First(int start, ReadOnlySpan<long> bundle)
        {
            var unused = 0;
            for (var k = 0; k < K; k++)
            {
                if (bundle[k] == 0)
                    unused |= 1 << k;
            }
            var best = int.MaxValue;
            foreach (var (mask, members, tree) in _groups)
            {
                // A group short in a kind the winner does not use, or wholly before the winner or after the best
                // blocker so far, is passed over without a search.
                if ((mask & unused) != 0 || members[^1] < start || members[0] >= best)
                    continue;
                // Only members after the winner and before the best blocker found so far can matter.
                var from = LowerBound(members, start);
                var to = best == int.MaxValue ? members.Length : LowerBound(members, best);
                if (from >= to)
                    continue;
                var local = tree.FirstDominated(from, to, bundle);
                if (local >= 0)
                    best = members[local];
            }
            return best == int.MaxValue ? -1 : best;
        }

        private static int LowerBound(int[] sorted, int value)
        {
            var index = Array.BinarySearch(sorted, value);
            return index >= 0 ? index : ~index;
        }
    }

    /// <summary>
    /// A segment tree over some rejected bids (in ranking order) holding, per node, the minimum deficit of each
    /// kind. Finds the first leaf in a range whose deficit fits inside a bundle.
    /// </summary>
    private sealed class DeficitTree
    {
        private readonly int _leaves;
        private readonly long[] _min;

        public DeficitTree(long[] deficits, List<int> members)
        {
            _leaves = 1;
            while (_leaves < members.Count)
                _leaves <<= 1;
            _min = new long[2 * _leaves * K];
            Array.Fill(_min, long.MaxValue);
            for (var m = 0; m < members.Count; m++)
            {
                for (var k = 0; k < K; k++)
                    _min[(_leaves + m) * K + k] = deficits[members[m] * K + k];
            }
            for (var node = _leaves - 1; node >= 1; node--)
            {
                for (var k = 0; k < K; k++)
                    _min[node * K + k] = Math.Min(_min[2 * node * K + k], _min[(2 * node + 1) * K + k]);
            }
        }

        /// <summary>First leaf in [<paramref name="from"/>, <paramref name="to"/>) with deficit &lt;= bundle; -1 if none.</summary>
        public int FirstDominated(int from, int to, ReadOnlySpan<long> bundle) => Find(1, 0, _leaves, from, to, bundle);

        private int Find(int node, int lo, int hi, int from, int to, ReadOnlySpan<long> bundle)
        {
            if (hi <= from || lo >= to || !MayHold(node, bundle))
                return -1;
            if (hi - lo == 1)
                return lo;
            var mid = (lo + hi) >> 1;
            var left = Find(2 * node, lo, mid, from, to, bundle);
            return left >= 0 ? left : Find(2 * node + 1, mid, hi, from, to, bundle);
        }

        private bool MayHold(int node, ReadOnlySpan<long> bundle)
        {
            var m = _min.AsSpan(node * K, K);
            return m[0] <= bundle[0] && m[1] <= bundle[1] && m[2] <= bundle[2] && m[3] <= bundle[3];
        }
    }
}
