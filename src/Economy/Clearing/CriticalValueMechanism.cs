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
        var bids = PreparedBids.From(input);
        var n = bids.Count;
        var sqrtSize = new double[n];
        var key = new double[n];
        for (var i = 0; i < n; i++)
        {
            sqrtSize[i] = Math.Sqrt(bids.NormalizedSize[i]);
            key[i] = bids.Bids[i].Amount / sqrtSize[i];
        }
        var order = bids.OrderByDescending(key);

        // The greedy pass, remembering each rejected bid's deficit and, per winner, how many rejections preceded it.
        Span<long> remaining = stackalloc long[K];
        bids.Supply.CopyTo(remaining);
        var winnerBids = new List<int>();
        var winnerFirstRejection = new List<int>();
        var rejected = new List<int>(n);
        var deficits = new List<long>(n * K);
        var losers = new List<string>(n);
        foreach (var i in order)
        {
            if (bids.Fits(i, remaining))
            {
                bids.Take(i, remaining);
                winnerBids.Add(i);
                winnerFirstRejection.Add(rejected.Count);
            }
            else
            {
                rejected.Add(i);
                var q = bids.Quantity.AsSpan(i * K, K);
                for (var k = 0; k < K; k++)
                    deficits.Add(Math.Max(0, q[k] - remaining[k]));
                losers.Add(bids.Ids[i]);
            }
        }

        var blockers = new BlockerIndex(deficits, rejected.Count, bids.Supply);
        var winners = new List<Allocation>(winnerBids.Count);
        for (var w = 0; w < winnerBids.Count; w++)
        {
            var i = winnerBids[w];
            var blocker = blockers.First(winnerFirstRejection[w], bids.Quantity.AsSpan(i * K, K));
            var payment = blocker < 0 ? 0 : CriticalPayment(bids, i, sqrtSize[i], key[rejected[blocker]], bids.Ids[rejected[blocker]]);
            winners.Add(bids.Allocate(i, payment));
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>
    /// The smallest whole amount r (1 &lt;= r &lt;= bid) whose key r / sqrt(size) still ranks before the blocking bid,
    /// evaluated with the very comparison the sort used, so rounding can never make a lower report win.
    /// </summary>
    private static long CriticalPayment(PreparedBids bids, int i, double sqrtSize, double blockerKey, string blockerId)
    {
        var bid = bids.Bids[i].Amount;
        var id = bids.Ids[i];
        bool Wins(long r) => PreparedBids.RanksBefore(r / sqrtSize, id, blockerKey, blockerId);

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

        public BlockerIndex(List<long> deficits, int count, long[] supply)
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
                if ((mask & unused) != 0)
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

        public DeficitTree(List<long> deficits, List<int> members)
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
