using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// A validated input laid out flat for the hot loops: quantities as one long array (4 per bid), ids as an
/// array for ordinal tie-breaks, and each bundle's size normalized by supply (sum over kinds of q_k / S_k).
/// Sizes are also kept exactly, as integer numerators over the common denominator D = lcm of the supplies, so
/// that density keys (amount / size, amount / sqrt(size)) can be compared exactly where floating point cannot
/// tell them apart (ADR 0120).
/// </summary>
internal sealed class PreparedBids : IDisposable
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
    /// <summary>Exact size numerators N_i = sum_k q_ik * D / S_k (size_i = N_i / D), when they fit 64 bits; made on first use.</summary>
    private long[]? _sizeNumerator;
    private double[]? _normalizedSize;
    /// <summary>The same multipliers in arbitrary precision, for supplies whose lcm does not fit (rare).</summary>
    private readonly BigInteger[]? _bigMultiplier;
    private readonly int _count;
    private bool _returned;

    // The per-bid arrays are rented (ADR 0126): at 100,000 bids each is on the large-object heap, and allocating
    // them per clearing set off full collections that cost as much as the clearing. They may be longer than Count.
    public IReadOnlyList<Bid> Bids { get; }
    public string[] Ids { get; }
    /// <summary>Each bid's amount (read here rather than through the bid object in the hot loops).</summary>
    public long[] Amount { get; }
    /// <summary>Each bid's agent as a dense number (0, 1, ... in order of first appearance): one win per agent is an array lookup.</summary>
    public int[] AgentOf { get; }
    /// <summary>How many distinct agents bid.</summary>
    public int AgentCount { get; }
    public long[] Quantity { get; }
    /// <summary>
    /// Each bundle's size normalized by supply, made on first use: four divisions a bid that only the mechanisms
    /// ranking by density pay for (ADR 0145).
    /// </summary>
    public double[] NormalizedSize => _normalizedSize ??= NormalizedSizes();
    public long[] Supply { get; }
    public int Count => _count;

    private PreparedBids(ClearingInput input, out bool valid)
    {
        ArgumentNullException.ThrowIfNull(input);
        var n = input.Bids?.Count ?? 0;
        _count = n;
        Bids = input.Bids ?? [];
        Ids = ArrayPool<string>.Shared.Rent(n);
        Amount = ArrayPool<long>.Shared.Rent(n);
        AgentOf = ArrayPool<int>.Shared.Rent(n);
        Quantity = ArrayPool<long>.Shared.Rent(n * Kinds);
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
        }
        else
        {
            _bigMultiplier = new BigInteger[Kinds];
            for (var k = 0; k < Kinds; k++)
                _bigMultiplier[k] = Supply[k] > 0 ? lcm / Supply[k] : BigInteger.Zero;
        }
        var agentIds = ArrayPool<string>.Shared.Rent(n);
        // Ids and agents are packed into sort keys in this same pass, while each string is at hand (ADR 0145).
        var indexBits = RadixSort.IndexBits(n);
        var idKeys = new PrefixPacker(Ids, ArrayPool<ulong>.Shared.Rent(n), n, indexBits);
        var agentKeys = new PrefixPacker(agentIds, ArrayPool<ulong>.Shared.Rent(n), n, indexBits);
        var quantity = Quantity;
        for (var i = 0; i < n && valid; i++)
        {
            var bid = Bids[i];
            if (bid is null || string.IsNullOrWhiteSpace(bid.Id) || string.IsNullOrWhiteSpace(bid.AgentId) ||
                bid.Amount <= 0 || bid.Amount > ClearingValidation.MaxAmount ||
                bid.Bundle.IsEmpty || !bid.Bundle.FitsWithin(supply))
            {
                valid = false;
                break;
            }
            Ids[i] = bid.Id;
            agentIds[i] = bid.AgentId;
            idKeys.Add(i);
            agentKeys.Add(i);
            Amount[i] = bid.Amount;
            var b = bid.Bundle;
            quantity[i * Kinds] = b.CpuMillicores;
            quantity[i * Kinds + 1] = b.MemoryMiB;
            quantity[i * Kinds + 2] = b.Tokens;
            quantity[i * Kinds + 3] = b.AttentionBasisPoints;
        }
        // Duplicate ids and the grouping by agent by sorting, not hashing (ADR 0126): a hash table of 100,000 strings
        // is 100,000 cache misses, a radix sort of their packed prefixes a few linear passes.
        if (valid && n > 0)
            valid = OrderIds(ref idKeys);
        if (valid && n > 0)
            AgentCount = GroupAgents(agentIds, ref agentKeys);
        ArrayPool<ulong>.Shared.Return(idKeys.Keys);
        ArrayPool<ulong>.Shared.Return(agentKeys.Keys);
        ArrayPool<string>.Shared.Return(agentIds, clearArray: true);
    }

    private double[] NormalizedSizes()
    {
        var n = _count;
        var size = ArrayPool<double>.Shared.Rent(n);
        var quantity = Quantity;
        var s0 = Supply[0];
        var s1 = Supply[1];
        var s2 = Supply[2];
        var s3 = Supply[3];
        for (var i = 0; i < n; i++)
        {
            // Every bundle fits the supply, so a kind with zero supply is never asked for and is skipped; the sum runs
            // in kind order as it always has, so the floating-point sizes (and every key made from them) are unchanged.
            double sum = 0;
            if (s0 > 0)
                sum += (double)quantity[i * Kinds] / s0;
            if (s1 > 0)
                sum += (double)quantity[i * Kinds + 1] / s1;
            if (s2 > 0)
                sum += (double)quantity[i * Kinds + 2] / s2;
            if (s3 > 0)
                sum += (double)quantity[i * Kinds + 3] / s3;
            size[i] = sum;
        }
        return size;
    }

    /// <summary>Bid <paramref name="bid"/>'s exact size numerator N (size = N / lcm of the supplies); null when the lcm is too large for 64 bits.</summary>
    public long? SizeNumerator(int bid) => (_sizeNumerator ?? SizeNumerators()) is { } numerator ? numerator[bid] : null;

    /// <summary>The exact size numerators (null when the supplies' lcm is too large for them), made on first use.</summary>
    private long[]? SizeNumerators()
    {
        if (_sizeNumerator is not null || _multiplier is not { } m)
            return _sizeNumerator;
        var n = _count;
        var numerator = ArrayPool<long>.Shared.Rent(n);
        var q = Quantity;
        for (var i = 0; i < n; i++)
            numerator[i] = q[i * Kinds] * m[0] + q[i * Kinds + 1] * m[1] + q[i * Kinds + 2] * m[2] + q[i * Kinds + 3] * m[3];
        return _sizeNumerator = numerator;
    }

    /// <summary>Bid indices in ordinal id order (rented, Count long), or null when ids were not ASCII past their common prefix.</summary>
    private int[]? _idOrder;

    /// <summary>
    /// Packs strings into 64-bit sort keys as they arrive: each string's chars after the prefix all strings share,
    /// 7 bits each and big-endian above the index bits (a missing char as 0), so the keys order as the strings do
    /// ordinally as far as they reach. The shared prefix is known only at the end; it can only shrink, and when it
    /// does the strings packed so far are packed again at the new offset. That happens once per char the prefix
    /// loses, so a budget of <see cref="RepackBudget"/> times the count bounds the extra work; past it (a hostile
    /// mix of ids), packing waits for the end and reads every string a second time.
    /// </summary>
    private struct PrefixPacker(string[] strings, ulong[] keys, int count, int indexBits)
    {
        private const int RepackBudget = 2;
        private readonly int _chars = (64 - indexBits) / 7;
        private long _repacked;
        private bool _deferred;

        public ulong[] Keys { get; } = keys;
        public int IndexBits { get; } = indexBits;
        /// <summary>Length of the prefix every string added so far shares.</summary>
        public int Common { get; private set; }
        /// <summary>False when a char in reach is not ASCII: the keys are then meaningless.</summary>
        public bool Ascii { get; private set; } = true;
        /// <summary>Every string lies wholly within reach and has no NUL char there, so equal keys mean equal strings.</summary>
        public bool Whole { get; private set; } = true;

        /// <summary>Adds string <paramref name="i"/> (strings are added in index order, 0 first).</summary>
        public void Add(int i)
        {
            var text = strings[i];
            if (i == 0)
                Common = text.Length;
            else
            {
                var common = strings[0].AsSpan(0, Common).CommonPrefixLength(text);
                if (common < Common)
                {
                    Common = common;
                    if (!_deferred)
                    {
                        _repacked += i;
                        if (_repacked > (long)RepackBudget * count)
                            _deferred = true;
                        else
                            PackRange(0, i);
                    }
                }
            }
            if (!_deferred)
                Pack(i);
        }

        /// <summary>Completes the keys of all the strings at the final shared prefix.</summary>
        public void Finish()
        {
            if (_deferred)
            {
                PackRange(0, count);
                _deferred = false;
            }
        }

        private void PackRange(int from, int to)
        {
            Ascii = true;
            Whole = true;
            for (var i = from; i < to; i++)
                Pack(i);
        }

        private void Pack(int i)
        {
            var text = strings[i];
            var common = Common;
            var end = common + _chars;
            if (text.Length > end)
                Whole = false;
            ulong key = 0;
            for (var c = common; c < end; c++)
            {
                var ch = c < text.Length ? text[c] : 0u;
                if (ch >= 128)
                    Ascii = false;
                if (ch == 0 && c < text.Length)
                    Whole = false;
                key = (key << 7) | (ch & 127);
            }
            Keys[i] = (key << IndexBits) | (uint)i;
        }
    }

    /// <summary>Sorts the ids (into <see cref="_idOrder"/>) and checks they are distinct; false on a duplicate.</summary>
    private bool OrderIds(ref PrefixPacker packer)
    {
        var n = _count;
        packer.Finish();
        var indexBits = packer.IndexBits;
        var packed = packer.Keys;
        var whole = packer.Whole;
        {
            if (!packer.Ascii)
            {
                var seen = new HashSet<string>(n, StringComparer.Ordinal);
                for (var i = 0; i < n; i++)
                {
                    if (!seen.Add(Ids[i]))
                        return false;
                }
                return true;
            }
            var keys = packed.AsSpan(0, n);
            RadixSort.Sort(keys, indexBits);
            var order = _idOrder = ArrayPool<int>.Shared.Rent(n);
            var indexMask = (1UL << indexBits) - 1;
            var byId = new OrdinalId(Ids);
            for (var start = 0; start < n;)
            {
                var end = start + 1;
                while (end < n && keys[end] >> indexBits == keys[start] >> indexBits)
                    end++;
                for (var p = start; p < end; p++)
                    order[p] = (int)(keys[p] & indexMask);
                if (end - start > 1)
                {
                    if (whole)
                        return false;
                    var run = order.AsSpan(start, end - start);
                    run.Sort(byId);
                    for (var p = 1; p < run.Length; p++)
                    {
                        if (string.Equals(Ids[run[p - 1]], Ids[run[p]], StringComparison.Ordinal))
                            return false;
                    }
                }
                start = end;
            }
            return true;
        }
    }

    /// <summary>Numbers the agents 0, 1, ... (in ordinal order of their ids) into <see cref="AgentOf"/>; returns how many.</summary>
    private int GroupAgents(string[] agentIds, ref PrefixPacker packer)
    {
        var n = _count;
        packer.Finish();
        var indexBits = packer.IndexBits;
        var packed = packer.Keys;
        var whole = packer.Whole;
        {
            if (!packer.Ascii)
            {
                var number = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < n; i++)
                {
                    if (!number.TryGetValue(agentIds[i], out var a))
                        number.Add(agentIds[i], a = number.Count);
                    AgentOf[i] = a;
                }
                return number.Count;
            }
            var keys = packed.AsSpan(0, n);
            RadixSort.Sort(keys, indexBits);
            var indexMask = (1UL << indexBits) - 1;
            var byAgent = new OrdinalId(agentIds);
            var run = new List<int>();
            var agents = 0;
            for (var start = 0; start < n;)
            {
                var end = start + 1;
                while (end < n && keys[end] >> indexBits == keys[start] >> indexBits)
                    end++;
                if (whole || end - start == 1)
                {
                    for (var p = start; p < end; p++)
                        AgentOf[(int)(keys[p] & indexMask)] = agents;
                    agents++;
                }
                else
                {
                    // Equal as far as the keys reach: tell them apart by the whole id.
                    run.Clear();
                    for (var p = start; p < end; p++)
                        run.Add((int)(keys[p] & indexMask));
                    var members = CollectionsMarshal.AsSpan(run);
                    members.Sort(byAgent);
                    for (var m = 0; m < members.Length; m++)
                    {
                        if (m > 0 && !string.Equals(agentIds[members[m - 1]], agentIds[members[m]], StringComparison.Ordinal))
                            agents++;
                        AgentOf[members[m]] = agents;
                    }
                    agents++;
                }
                start = end;
            }
            return agents;
        }
    }

    /// <summary>Gives the rented arrays back; the instance must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_returned)
            return;
        _returned = true;
        ArrayPool<string>.Shared.Return(Ids, clearArray: true);
        ArrayPool<long>.Shared.Return(Amount);
        ArrayPool<int>.Shared.Return(AgentOf);
        ArrayPool<long>.Shared.Return(Quantity);
        if (_normalizedSize is not null)
            ArrayPool<double>.Shared.Return(_normalizedSize);
        if (_sizeNumerator is not null)
            ArrayPool<long>.Shared.Return(_sizeNumerator);
        if (_idOrder is not null)
            ArrayPool<int>.Shared.Return(_idOrder);
    }

    /// <summary>Validates (throwing <see cref="ClearingInputException"/>) and prepares.</summary>
    public static PreparedBids From(ClearingInput input)
    {
        var prepared = new PreparedBids(input, out var valid);
        if (!valid)
        {
            prepared.Dispose();
            ClearingValidation.EnsureValid(input);
            // The fast path and the full check agree on what is valid; reaching here would be a bug in one of them.
            throw new InvalidOperationException("clearing input failed the fast validation but passed the full one");
        }
        return prepared;
    }

    /// <summary>The bid's bundle at <paramref name="prices"/> (<see cref="MarketPrices.CostOf"/>), read from the flat quantities.</summary>
    public long CostOf(int bid, MarketPrices prices)
    {
        var q = Quantity.AsSpan(bid * Kinds, Kinds);
        return prices.CostOfQuantities(q[0], q[1], q[2], q[3]);
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
        var order = new int[Count];
        OrderByDescending(key, order);
        return order;
    }

    /// <summary>Fills <paramref name="order"/> (length <see cref="Count"/>) with bid indices by <paramref name="key"/> descending, ties by ordinal id.</summary>
    public void OrderByDescending(double[] key, Span<int> order)
    {
        if (!SortByFloatKey(key, order, out var indexBits))
        {
            // Negative or NaN keys (no mechanism makes them): the runtime's key/item sort, then equal keys by id.
            var negated = new double[Count];
            for (var i = 0; i < negated.Length; i++)
                negated[i] = -key[i];
            var sorted = Enumerable.Range(0, Count).ToArray();
            Array.Sort(negated, sorted);
            OrderTiesById(negated, sorted);
            sorted.CopyTo(order);
            return;
        }
        // The radix sort saw the keys truncated; a run whose truncated keys are equal is put in (key, id) order.
        var byKey = new FloatKeyThenId(key, Ids);
        for (var start = 0; start < order.Length;)
        {
            var high = Truncated(key[order[start]], indexBits);
            var end = start + 1;
            while (end < order.Length && Truncated(key[order[end]], indexBits) == high)
                end++;
            if (end - start > 1)
                order[start..end].Sort(byKey);
            start = end;
        }
    }

    /// <summary>
    /// Bid indices by <paramref name="key"/> descending, then by <paramref name="secondary"/> descending (when
    /// given), then by ordinal id ascending.
    /// </summary>
    public int[] OrderByDescending(long[] key, long[]? secondary = null)
    {
        var order = new int[Count];
        OrderByDescending(key.AsSpan(0, Count), secondary is null ? default : secondary.AsSpan(0, Count), secondary is not null, order);
        return order;
    }

    /// <summary>
    /// The same into <paramref name="order"/>. When the keys' range, the secondary keys' range and the index fit 64 bits
    /// together (amounts and surpluses of a market do, by far) all three are packed into one radix-sorted key and only
    /// bids equal in both keys are compared, by id; otherwise the runtime's key/item sort does it.
    /// </summary>
    public void OrderByDescending(ReadOnlySpan<long> key, ReadOnlySpan<long> secondary, bool hasSecondary, Span<int> order)
    {
        var n = Count;
        var indexBits = RadixSort.IndexBits(n);
        var (keyMax, keyBits) = Range(key);
        var (secondaryMax, secondaryBits) = hasSecondary ? Range(secondary) : (0, 0);
        if (keyBits + secondaryBits + indexBits > 64)
        {
            var negated = new long[n];
            for (var i = 0; i < n; i++)
                negated[i] = -key[i];
            var sorted = Enumerable.Range(0, n).ToArray();
            Array.Sort(negated, sorted);
            OrderTiesById(negated, sorted, hasSecondary ? secondary.ToArray() : null);
            sorted.CopyTo(order);
            return;
        }
        var packed = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            var secondaryShift = indexBits;
            var keyShift = indexBits + secondaryBits;
            for (var i = 0; i < n; i++)
            {
                // max - value: the largest value gets the smallest packed key, so ascending is descending.
                var high = keyBits == 0 ? 0 : unchecked((ulong)(keyMax - key[i])) << keyShift;
                var middle = secondaryBits == 0 ? 0 : unchecked((ulong)(secondaryMax - secondary[i])) << secondaryShift;
                packed[i] = high | middle | (uint)i;
            }
            var keys = packed.AsSpan(0, n);
            RadixSort.Sort(keys, indexBits);
            var indexMask = (1UL << indexBits) - 1;
            var byId = new OrdinalId(Ids);
            for (var start = 0; start < n;)
            {
                var end = start + 1;
                while (end < n && keys[end] >> indexBits == keys[start] >> indexBits)
                    end++;
                for (var p = start; p < end; p++)
                    order[p] = (int)(keys[p] & indexMask);
                if (end - start > 1)
                    order[start..end].Sort(byId);
                start = end;
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(packed);
        }
    }

    /// <summary>The largest value and the bits needed for (largest - smallest).</summary>
    private static (long Max, int Bits) Range(ReadOnlySpan<long> values)
    {
        if (values.IsEmpty)
            return (0, 0);
        long min = long.MaxValue, max = long.MinValue;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        var range = unchecked((ulong)(max - min));
        return (max, 64 - BitOperations.LeadingZeroCount(range));
    }

    /// <summary>
    /// Radix-sorts bid indices by non-negative float keys descending, each key cut to its high 64 - indexBits bits
    /// (the low bits hold the index); false, doing nothing, when some key is negative or NaN.
    /// </summary>
    private bool SortByFloatKey(double[] key, Span<int> order, out int indexBits)
    {
        var n = Count;
        indexBits = RadixSort.IndexBits(n);
        var packed = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            for (var i = 0; i < n; i++)
            {
                if (!(key[i] >= 0))
                    return false;
                // The bits of a non-negative double order as the double; complemented, ascending is descending.
                packed[i] = Truncated(key[i], indexBits) | (uint)i;
            }
            var keys = packed.AsSpan(0, n);
            RadixSort.Sort(keys, indexBits);
            var indexMask = (1UL << indexBits) - 1;
            for (var p = 0; p < n; p++)
                order[p] = (int)(keys[p] & indexMask);
            return true;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(packed);
        }
    }

    /// <summary>The complemented bits of a non-negative key without its low <paramref name="indexBits"/> (-0 counts as 0).</summary>
    private static ulong Truncated(double key, int indexBits) =>
        ~BitConverter.DoubleToUInt64Bits(key == 0 ? 0.0 : key) & ~((1UL << indexBits) - 1);

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

    /// <summary>Float key descending, then ordinal id (within a run the radix sort could not tell apart).</summary>
    private readonly struct FloatKeyThenId(double[] key, string[] ids) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var c = key[b].CompareTo(key[a]);
            return c != 0 ? c : string.CompareOrdinal(ids[a], ids[b]);
        }
    }

    /// <summary>
    /// Bid indices by the exact key amount^<paramref name="power"/> / size descending (power 1: density
    /// amount / size; power 2: the order of amount / sqrt(size)), ties by ordinal id ascending.
    /// <paramref name="approximate"/> holds the same keys in floating point: the bids are radix-sorted by them cut
    /// to their high bits, and only runs of keys within <see cref="NearTie"/> plus the cut's resolution of each other
    /// are re-sorted exactly, so exactness costs nothing where keys are far apart. Sound because a pair that the
    /// sort orders wrongly differs by less than that tolerance, and so does every key sorted between them: the
    /// whole stretch is one run.
    /// </summary>
    public void OrderByExactKey(double[] approximate, int power, Span<int> order)
    {
        // Keys are positive (amount >= 1, size > 0), so the float sort cannot refuse them.
        SortByFloatKey(approximate, order, out var indexBits);
        // Cutting indexBits bits off a double moves it by less than 2^(indexBits - 52) of itself.
        var tolerance = NearTie + Math.ScaleB(1, indexBits - 51);
        var exact = new ExactOrder(this, power);
        for (var start = 0; start < order.Length;)
        {
            var end = start + 1;
            // Keys descend, up to the tolerance: a later key may even be a little larger.
            while (end < order.Length && approximate[order[end - 1]] - approximate[order[end]] <= approximate[order[end - 1]] * tolerance)
                end++;
            if (end - start > 1)
                order[start..end].Sort(exact);
            start = end;
        }
    }

    /// <summary>
    /// Compares amountA^power / size(bidA) with amountB^power / size(bidB) exactly: positive when A's key is larger.
    /// The amounts are arguments so that a critical payment can test a report other than the bid.
    /// </summary>
    public int CompareKeys(long amountA, int bidA, long amountB, int bidB, int power)
    {
        // a_A^p / (N_A / D) > a_B^p / (N_B / D)  <=>  a_A^p * N_B > a_B^p * N_A (all positive).
        if ((_sizeNumerator ?? SizeNumerators()) is { } numerator)
        {
            var nA = (ulong)numerator[bidA];
            var nB = (ulong)numerator[bidB];
            if (power == 1)
                return ((UInt128)(ulong)amountA * nB).CompareTo((UInt128)(ulong)amountB * nA);
            // a^2 < 2^80 and N < 2^63: the products need up to 143 bits, compared as 192-bit numbers.
            return Compare192(Multiply((UInt128)(ulong)amountA * (ulong)amountA, nB),
                Multiply((UInt128)(ulong)amountB * (ulong)amountB, nA));
        }
        if (power is 1 or 2 && FarApart(amountA, bidA, amountB, bidB, power) is var apart and not 0)
            return apart;
        var left = BigInteger.Pow(amountA, power) * BigSizeNumerator(bidB);
        var right = BigInteger.Pow(amountB, power) * BigSizeNumerator(bidA);
        return left.CompareTo(right);
    }

    /// <summary>
    /// Where the supplies' lcm needs arbitrary precision, keys far apart are told apart in floating point, and only near
    /// ties pay for BigInteger arithmetic (a simulated cycle makes thousands of these comparisons for its critical
    /// payments). Sound: quantities and supplies are below 2^53, so each normalized size is within 8 ulp of its exact
    /// value, a key amount^power / size within 12 ulp (under 2^-48 of itself); a gap wider than <see cref="NearTie"/>
    /// cannot be a rounding artefact. Returns 0 when the keys are too close to call.
    /// </summary>
    private int FarApart(long amountA, int bidA, long amountB, int bidB, int power)
    {
        var size = NormalizedSize;
        var sizeA = size[bidA];
        var sizeB = size[bidB];
        if (!(sizeA > 0 && sizeB > 0))
            return 0;
        double a = amountA, b = amountB;
        var keyA = (power == 1 ? a : a * a) / sizeA;
        var keyB = (power == 1 ? b : b * b) / sizeB;
        if (keyA > keyB * (1 + NearTie))
            return 1;
        if (keyB > keyA * (1 + NearTie))
            return -1;
        return 0;
    }

    /// <summary>True when bid <paramref name="a"/> (offering <paramref name="amountA"/>) ranks before bid <paramref name="b"/> (at its amount): larger exact key, then smaller ordinal id.</summary>
    public bool RanksBeforeExactly(long amountA, int a, int b, int power)
    {
        var c = CompareKeys(amountA, a, Amount[b], b, power);
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
            var amountA = bids.Amount[a];
            var amountB = bids.Amount[b];
            var same = amountA == amountB && bids.Quantity.AsSpan(a * Kinds, Kinds).SequenceEqual(bids.Quantity.AsSpan(b * Kinds, Kinds));
            var c = same ? 0 : bids.CompareKeys(amountB, b, amountA, a, power);
            return c != 0 ? c : string.CompareOrdinal(bids.Ids[a], bids.Ids[b]);
        }
    }

    /// <summary>Bid indices by ordinal id.</summary>
    public int[] OrderById()
    {
        var order = new int[Count];
        OrderById(order);
        return order;
    }

    /// <summary>Fills <paramref name="order"/> (length <see cref="Count"/>) with bid indices by ordinal id.</summary>
    public void OrderById(Span<int> order)
    {
        // The ids were sorted when they were checked for duplicates; only non-ASCII ones are sorted here.
        if (_idOrder is not null)
        {
            _idOrder.AsSpan(0, Count).CopyTo(order);
            return;
        }
        var common = Count == 0 ? 0 : Ids[0].Length;
        for (var i = 1; i < Count && common > 0; i++)
            common = Math.Min(common, Ids[0].AsSpan(0, common).CommonPrefixLength(Ids[i]));
        OrderByIdWide(order, common);
    }

    /// <summary>The same for ids with non-ASCII chars after the common prefix: four 16-bit chars a key, the runtime's key/item sort.</summary>
    private void OrderByIdWide(Span<int> order, int common)
    {
        var n = Count;
        var ids = Ids;
        var sorted = new int[n];
        for (var i = 0; i < n; i++)
            sorted[i] = i;
        var keys = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var id = ids[i];
            ulong key = 0;
            for (var c = common; c < common + 4; c++)
                key = (key << 16) | (c < id.Length ? id[c] : 0u);
            keys[i] = key;
        }
        Array.Sort(keys, sorted);
        var byId = new OrdinalId(ids);
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && keys[end] == keys[start])
                end++;
            if (end - start > 1)
                sorted.AsSpan(start, end - start).Sort(byId);
            start = end;
        }
        sorted.CopyTo(order);
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
