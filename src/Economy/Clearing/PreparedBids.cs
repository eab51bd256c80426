using System.Numerics;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// A validated input laid out flat for the hot loops: quantities as one long array (4 per bid), ids as an
/// array for ordinal tie-breaks, and each bundle's size normalized by supply (sum over kinds of q_k / S_k).
/// Sizes are also kept exactly, as integer numerators over the common denominator D = lcm of the supplies, so
/// that density keys (amount / size, amount / sqrt(size)) can be compared exactly where floating point cannot
/// tell them apart (ADR 0120).
/// </summary>
internal sealed class PreparedBids
{
    public const int Kinds = ResourceKinds.Count;

    /// <summary>
    /// Relative gap below which two floating-point keys may be out of order (their rounding error is a few ulps,
    /// about 1e-15): adjacent keys this close are re-ordered by exact arithmetic. Generous on purpose; a false
    /// alarm only costs an exact comparison.
    /// </summary>
    private const double NearTie = 1e-12;

    /// <summary>D / S_k per kind (0 where a kind has no supply) when D is small enough for 64-bit numerators.</summary>
    private readonly long[]? _multiplier;
    /// <summary>Exact size numerators N_i = sum_k q_ik * D / S_k (size_i = N_i / D), when they fit 64 bits.</summary>
    private readonly long[]? _sizeNumerator;
    /// <summary>The same multipliers in arbitrary precision, for supplies whose lcm does not fit (rare).</summary>
    private readonly BigInteger[]? _bigMultiplier;

    public IReadOnlyList<Bid> Bids { get; }
    public string[] Ids { get; }
    public long[] Quantity { get; }
    public double[] NormalizedSize { get; }
    public long[] Supply { get; }
    public int Count => Ids.Length;

    private PreparedBids(ClearingInput input, out bool valid)
    {
        ArgumentNullException.ThrowIfNull(input);
        var n = input.Bids?.Count ?? 0;
        Bids = input.Bids ?? [];
        Ids = new string[n];
        Quantity = new long[n * Kinds];
        NormalizedSize = new double[n];
        var supply = input.Supply;
        Supply = [supply.CpuMillicores, supply.MemoryMiB, supply.Tokens, supply.AttentionBasisPoints];
        // Validation's fast path runs in the same pass that lays the bids out: one walk over 100,000 bids, not two.
        // Any doubt hands over to ClearingValidation, which finds and words the problem.
        valid = input.Bids is not null && input.Prices is not null &&
                Supply[0] <= ClearingValidation.MaxQuantity && Supply[1] <= ClearingValidation.MaxQuantity &&
                Supply[2] <= ClearingValidation.MaxQuantity && Supply[3] <= ClearingValidation.MaxQuantity;
        // size_i = N_i / D with D = lcm of the positive supplies; q_k <= S_k, so N_i <= 4 D.
        var lcm = BigInteger.One;
        foreach (var s in Supply)
        {
            if (s > 0)
                lcm = lcm / BigInteger.GreatestCommonDivisor(lcm, s) * s;
        }
        if (lcm <= (BigInteger.One << 60))
        {
            var d = (long)lcm;
            _multiplier = new long[Kinds];
            for (var k = 0; k < Kinds; k++)
                _multiplier[k] = Supply[k] > 0 ? d / Supply[k] : 0;
            _sizeNumerator = new long[n];
        }
        else
        {
            _bigMultiplier = new BigInteger[Kinds];
            for (var k = 0; k < Kinds; k++)
                _bigMultiplier[k] = Supply[k] > 0 ? lcm / Supply[k] : BigInteger.Zero;
        }
        var multiplier = _multiplier;
        var seen = new HashSet<string>(n, StringComparer.Ordinal);
        for (var i = 0; i < n && valid; i++)
        {
            var bid = Bids[i];
            if (bid is null || string.IsNullOrWhiteSpace(bid.Id) || string.IsNullOrWhiteSpace(bid.AgentId) ||
                bid.Amount <= 0 || bid.Amount > ClearingValidation.MaxAmount ||
                bid.Bundle.IsEmpty || !bid.Bundle.FitsWithin(supply) || !seen.Add(bid.Id))
            {
                valid = false;
                break;
            }
            Ids[i] = bid.Id;
            var b = bid.Bundle;
            var q = Quantity.AsSpan(i * Kinds, Kinds);
            q[0] = b.CpuMillicores;
            q[1] = b.MemoryMiB;
            q[2] = b.Tokens;
            q[3] = b.AttentionBasisPoints;
            // Every bundle fits the supply, so a kind with zero supply is never asked for and is skipped.
            double size = 0;
            for (var k = 0; k < Kinds; k++)
            {
                if (Supply[k] > 0)
                    size += (double)q[k] / Supply[k];
            }
            NormalizedSize[i] = size;
            if (multiplier is not null)
                _sizeNumerator![i] = q[0] * multiplier[0] + q[1] * multiplier[1] + q[2] * multiplier[2] + q[3] * multiplier[3];
        }
    }

    /// <summary>Validates (throwing <see cref="ClearingInputException"/>) and prepares.</summary>
    public static PreparedBids From(ClearingInput input)
    {
        var prepared = new PreparedBids(input, out var valid);
        if (!valid)
        {
            ClearingValidation.EnsureValid(input);
            // The fast path and the full check agree on what is valid; reaching here would be a bug in one of them.
            throw new InvalidOperationException("clearing input failed the fast validation but passed the full one");
        }
        return prepared;
    }

    public bool Fits(int bid, ReadOnlySpan<long> remaining)
    {
        var q = Quantity.AsSpan(bid * Kinds, Kinds);
        return q[0] <= remaining[0] && q[1] <= remaining[1] && q[2] <= remaining[2] && q[3] <= remaining[3];
    }

    public void Take(int bid, Span<long> remaining)
    {
        var q = Quantity.AsSpan(bid * Kinds, Kinds);
        remaining[0] -= q[0];
        remaining[1] -= q[1];
        remaining[2] -= q[2];
        remaining[3] -= q[3];
    }

    /// <summary>Bid indices by <paramref name="key"/> descending, ties by ordinal id ascending.</summary>
    public int[] OrderByDescending(double[] key)
    {
        // Sorting negated primitive keys with the runtime's specialised key/item sort is several times faster
        // than a comparer; the (rare) runs of equal keys are then ordered by id.
        var negated = new double[key.Length];
        for (var i = 0; i < key.Length; i++)
            negated[i] = -key[i];
        var order = Enumerable.Range(0, Count).ToArray();
        Array.Sort(negated, order);
        OrderTiesById(negated, order);
        return order;
    }

    /// <summary>
    /// Bid indices by <paramref name="key"/> descending, then by <paramref name="secondary"/> descending (when
    /// given), then by ordinal id ascending.
    /// </summary>
    public int[] OrderByDescending(long[] key, long[]? secondary = null)
    {
        var negated = new long[key.Length];
        for (var i = 0; i < key.Length; i++)
            negated[i] = -key[i];
        var order = Enumerable.Range(0, Count).ToArray();
        Array.Sort(negated, order);
        OrderTiesById(negated, order, secondary);
        return order;
    }

    private void OrderTiesById<T>(T[] sortedKeys, int[] order, long[]? secondary = null) where T : IEquatable<T>
    {
        var tieBreak = new TieBreak(secondary, Ids);
        for (var start = 0; start < order.Length;)
        {
            var end = start + 1;
            while (end < order.Length && sortedKeys[end].Equals(sortedKeys[start]))
                end++;
            if (end - start > 1)
                order.AsSpan(start, end - start).Sort(tieBreak);
            start = end;
        }
    }

    /// <summary>Within a run of equal keys: the secondary key descending, then ordinal id.</summary>
    private readonly struct TieBreak(long[]? secondary, string[] ids) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            if (secondary is not null && secondary[a] != secondary[b])
                return secondary[b].CompareTo(secondary[a]);
            return string.CompareOrdinal(ids[a], ids[b]);
        }
    }

    /// <summary>
    /// Bid indices by the exact key amount^<paramref name="power"/> / size descending (power 1: density
    /// amount / size; power 2: the order of amount / sqrt(size)), ties by ordinal id ascending.
    /// <paramref name="approximate"/> holds the same keys in floating point: the bids are sorted by it, and only
    /// runs of keys within <see cref="NearTie"/> of each other are re-sorted exactly, so exactness costs nothing
    /// where keys are far apart. Sound because a pair that floating point orders wrongly differs by less than
    /// the tolerance, and so does every key sorted between them: the whole stretch is one run.
    /// </summary>
    public int[] OrderByExactKey(double[] approximate, int power)
    {
        var negated = new double[approximate.Length];
        for (var i = 0; i < approximate.Length; i++)
            negated[i] = -approximate[i];
        var order = new int[Count];
        for (var i = 0; i < order.Length; i++)
            order[i] = i;
        Array.Sort(negated, order);
        var exact = new ExactOrder(this, power);
        for (var start = 0; start < order.Length;)
        {
            var end = start + 1;
            // Negated keys ascend; all keys are positive, so -negated is the magnitude.
            while (end < order.Length && negated[end] - negated[end - 1] <= -negated[end - 1] * NearTie)
                end++;
            if (end - start > 1)
                order.AsSpan(start, end - start).Sort(exact);
            start = end;
        }
        return order;
    }

    /// <summary>
    /// Compares amountA^power / size(bidA) with amountB^power / size(bidB) exactly: positive when A's key is larger.
    /// The amounts are arguments so that a critical payment can test a report other than the bid.
    /// </summary>
    public int CompareKeys(long amountA, int bidA, long amountB, int bidB, int power)
    {
        // a_A^p / (N_A / D) > a_B^p / (N_B / D)  <=>  a_A^p * N_B > a_B^p * N_A (all positive).
        if (_sizeNumerator is { } numerator)
        {
            var nA = (ulong)numerator[bidA];
            var nB = (ulong)numerator[bidB];
            if (power == 1)
                return ((UInt128)(ulong)amountA * nB).CompareTo((UInt128)(ulong)amountB * nA);
            // a^2 < 2^80 and N < 2^63: the products need up to 143 bits, compared as 192-bit numbers.
            return Compare192(Multiply((UInt128)(ulong)amountA * (ulong)amountA, nB),
                Multiply((UInt128)(ulong)amountB * (ulong)amountB, nA));
        }
        var left = BigInteger.Pow(amountA, power) * BigSizeNumerator(bidB);
        var right = BigInteger.Pow(amountB, power) * BigSizeNumerator(bidA);
        return left.CompareTo(right);
    }

    /// <summary>True when bid <paramref name="a"/> (offering <paramref name="amountA"/>) ranks before bid <paramref name="b"/> (at its amount): larger exact key, then smaller ordinal id.</summary>
    public bool RanksBeforeExactly(long amountA, int a, int b, int power)
    {
        var c = CompareKeys(amountA, a, Bids[b].Amount, b, power);
        return c > 0 || (c == 0 && string.CompareOrdinal(Ids[a], Ids[b]) < 0);
    }

    private BigInteger BigSizeNumerator(int bid)
    {
        var q = Quantity.AsSpan(bid * Kinds, Kinds);
        var m = _bigMultiplier!;
        return q[0] * m[0] + q[1] * m[1] + q[2] * m[2] + q[3] * m[3];
    }

    private static (ulong High, UInt128 Low) Multiply(UInt128 x, ulong y)
    {
        var lowHigh = Math.BigMul((ulong)x, y, out var lowLow);
        var highHigh = Math.BigMul((ulong)(x >> 64), y, out var highLow);
        var middle = highLow + lowHigh;
        var carry = middle < highLow ? 1UL : 0UL;
        return (highHigh + carry, ((UInt128)middle << 64) | lowLow);
    }

    private static int Compare192((ulong High, UInt128 Low) a, (ulong High, UInt128 Low) b) =>
        a.High != b.High ? a.High.CompareTo(b.High) : a.Low.CompareTo(b.Low);

    /// <summary>Exact key descending, then ordinal id ascending; identical offers skip the arithmetic.</summary>
    private readonly struct ExactOrder(PreparedBids bids, int power) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var amountA = bids.Bids[a].Amount;
            var amountB = bids.Bids[b].Amount;
            var same = amountA == amountB && bids.Quantity.AsSpan(a * Kinds, Kinds).SequenceEqual(bids.Quantity.AsSpan(b * Kinds, Kinds));
            var c = same ? 0 : bids.CompareKeys(amountB, b, amountA, a, power);
            return c != 0 ? c : string.CompareOrdinal(bids.Ids[a], bids.Ids[b]);
        }
    }

    /// <summary>Bid indices by ordinal id.</summary>
    public int[] OrderById()
    {
        // Sorting strings compares them char by char, over the prefix all ids share (bid-, 12:agent-) every time.
        // Instead: skip the common prefix, sort by the next four chars packed in a 64-bit key (big-endian, a
        // missing char as 0, so the key order agrees with ordinal order), then order equal keys by the full id.
        var n = Count;
        var ids = Ids;
        var order = new int[n];
        for (var i = 0; i < n; i++)
            order[i] = i;
        if (n < 2)
            return order;
        var common = ids[0].Length;
        for (var i = 1; i < n && common > 0; i++)
            common = Math.Min(common, ids[0].AsSpan(0, common).CommonPrefixLength(ids[i]));
        var keys = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var id = ids[i];
            ulong key = 0;
            for (var c = common; c < common + 4; c++)
                key = (key << 16) | (c < id.Length ? id[c] : 0u);
            keys[i] = key;
        }
        Array.Sort(keys, order);
        var byId = new OrdinalId(ids);
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && keys[end] == keys[start])
                end++;
            if (end - start > 1)
                order.AsSpan(start, end - start).Sort(byId);
            start = end;
        }
        return order;
    }

    private readonly struct OrdinalId(string[] ids) : IComparer<int>
    {
        public int Compare(int a, int b) => string.CompareOrdinal(ids[a], ids[b]);
    }

    /// <summary>True when the bid (<paramref name="keyA"/>, <paramref name="idA"/>) ranks before (<paramref name="keyB"/>, <paramref name="idB"/>): higher key, then smaller ordinal id.</summary>
    public static bool RanksBefore(double keyA, string idA, double keyB, string idB) =>
        keyA > keyB || (keyA == keyB && string.CompareOrdinal(idA, idB) < 0);

    public Allocation Allocate(int bid, long payment)
    {
        var b = Bids[bid];
        return new Allocation(b.Id, b.AgentId, b.Bundle, b.Amount, payment);
    }

    /// <summary>Assembles the result; <paramref name="remaining"/> is the capacity left after the winners.</summary>
    public ClearingResult Result(string mechanism, List<Allocation> winners, List<string> losers, ReadOnlySpan<long> remaining) =>
        new(mechanism, winners, losers,
            ResourceBundle.Create(Supply[0] - remaining[0], Supply[1] - remaining[1], Supply[2] - remaining[2], Supply[3] - remaining[3]),
            ResourceBundle.Create(Supply[0], Supply[1], Supply[2], Supply[3]));
}
