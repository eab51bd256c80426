using System.Buffers;
using System.Numerics;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// A stable least-significant-digit radix sort of 64-bit keys that carry a bid index in their low bits (ADR 0126).
/// Only the bits that differ between keys are sorted on, in passes of at most 12 bits, so sorting 100,000 keys
/// takes four or five linear passes instead of the n log n comparisons of an introsort. The index bits are never
/// sorted on: keys start in index order and every pass is stable, so equal sort bits keep index order.
/// </summary>
internal static class RadixSort
{
    private const int MaxDigitBits = 12;

    /// <summary>Sorts <paramref name="keys"/> ascending by their bits from <paramref name="fromBit"/> up.</summary>
    public static void Sort(Span<ulong> keys, int fromBit)
    {
        var n = keys.Length;
        if (n < 2)
            return;
        ulong all = ~0UL, any = 0, previous = 0;
        var ascending = true;
        foreach (var k in keys)
        {
            all &= k;
            any |= k;
            ascending &= previous <= k;
            previous = k;
        }
        // Keys already in order (ids listed in id order, as the simulator's and many bid books are) need no pass;
        // the index bits make every key distinct, so ascending keys are sorted and stable.
        var varying = (all ^ any) >> fromBit << fromBit;
        if (ascending || fromBit >= 64 || varying == 0)
            return;
        var lo = BitOperations.TrailingZeroCount(varying);
        var hi = 64 - BitOperations.LeadingZeroCount(varying);
        var passes = (hi - lo + MaxDigitBits - 1) / MaxDigitBits;
        var width = (hi - lo + passes - 1) / passes;
        var buckets = 1 << width;
        var digitMask = (ulong)(buckets - 1);

        var counts = ArrayPool<int>.Shared.Rent(passes * buckets);
        var scratch = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            Array.Clear(counts, 0, passes * buckets);
            foreach (var k in keys)
            {
                for (var p = 0; p < passes; p++)
                    counts[p * buckets + (int)((k >> (lo + p * width)) & digitMask)]++;
            }
            Span<ulong> source = keys;
            Span<ulong> target = scratch.AsSpan(0, n);
            for (var p = 0; p < passes; p++)
            {
                var count = counts.AsSpan(p * buckets, buckets);
                var shift = lo + p * width;
                // A digit every key shares orders nothing.
                if (count[(int)((source[0] >> shift) & digitMask)] == n)
                    continue;
                var offset = 0;
                for (var d = 0; d < buckets; d++)
                {
                    var c = count[d];
                    count[d] = offset;
                    offset += c;
                }
                foreach (var k in source)
                    target[count[(int)((k >> shift) & digitMask)]++] = k;
                var swap = source;
                source = target;
                target = swap;
            }
            if (source != keys)
                source.CopyTo(keys);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(counts);
            ArrayPool<ulong>.Shared.Return(scratch);
        }
    }

    /// <summary>Bits needed for the indices 0..count-1 (at least 1).</summary>
    public static int IndexBits(int count) => Math.Max(1, 32 - BitOperations.LeadingZeroCount((uint)Math.Max(1, count - 1)));
}
