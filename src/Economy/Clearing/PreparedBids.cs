using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// A validated input laid out flat for the hot loops: quantities as one long array (4 per bid), ids as an
/// array for ordinal tie-breaks, and each bundle's size normalized by supply (sum over kinds of q_k / S_k).
/// </summary>
internal sealed class PreparedBids
{
    public const int Kinds = ResourceKinds.Count;

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

    /// <summary>Bid indices by ordinal id.</summary>
    public int[] OrderById()
    {
        var order = Enumerable.Range(0, Count).ToArray();
        var ids = Ids;
        order.AsSpan().Sort((a, b) => string.CompareOrdinal(ids[a], ids[b]));
        return order;
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
