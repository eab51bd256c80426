using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// The lottery's urn: integer weights in slot order, drawn by cumulative position and removed (ADR 0146). A tree
/// whose nodes are one 64-byte line each, <see cref="Width"/> running sums of their children (16 in 32 bits, 8 in
/// 64 bits); a draw goes down the ⌈log_W n⌉ levels and finds its child in each node by one vector compare (the
/// count of running sums at most the target) instead of a binary walk's unpredictable branch per level. The slot
/// found is the one a linear scan finds: the first whose cumulative range [prefix before it, prefix including it)
/// holds the target. <typeparamref name="T"/> is <see cref="uint"/> when the total fits (half the bytes a draw
/// reads, twice the children a node), else <see cref="ulong"/>.
/// </summary>
internal readonly struct LotteryUrn<T> : IDisposable where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>
{
    /// <summary>Children a node: as many sums as one 64-byte vector holds.</summary>
    public static int Width => Vector512<T>.Count;

    private static int WidthBits => BitOperations.Log2((uint)Width);

    /// <summary>Deep enough for 2^31 slots at 8 children a node.</summary>
    private const int MaxLevels = 12;

    private readonly Scratch<T> _buffer;
    private readonly T[] _sums;
    /// <summary>Where each level's nodes start in <see cref="_sums"/>, leaves (level 0) first; the last level is the root.</summary>
    private readonly LevelStarts _start;
    private readonly int _top;
    private readonly GCHandle _pin;
    /// <summary>Index of the first 64-byte aligned element of the pinned <see cref="_sums"/>: the root of everything.</summary>
    private readonly int _base;

    /// <param name="weights">Each slot's weight, in slot order; the sum must fit <typeparamref name="T"/>.</param>
    public LotteryUrn(ReadOnlySpan<long> weights)
    {
        var w = Width;
        var levels = 0;
        var size = 0;
        for (var nodes = Math.Max(1, (weights.Length + w - 1) >> WidthBits); ; nodes = (nodes + w - 1) >> WidthBits)
        {
            _start[levels++] = size;
            size += nodes * w;
            if (nodes == 1)
                break;
        }
        _top = levels - 1;
        // Nodes on 64-byte boundaries: a node is then one line, and a draw's reads of a node the last draw just
        // wrote are served from that one store (a node split across lines is two stores no load can be served from).
        _buffer = new Scratch<T>(size + w);
        _sums = _buffer.Array;
        _pin = GCHandle.Alloc(_sums, GCHandleType.Pinned);
        _base = (int)((64 - (_pin.AddrOfPinnedObject() & 63)) & 63) / Unsafe.SizeOf<T>();
        // Leaves: running sums of the slots' weights within each node (unused lanes of the last node repeat its total).
        var sums = _sums.AsSpan(_base, size);
        FillRunningSums(weights, sums[..(_top == 0 ? size : _start[1])], w);
        for (var level = 1; level <= _top; level++)
        {
            // A node's total is its last running sum; the parents hold running sums of those.
            var below = sums[_start[level - 1].._start[level]];
            var here = level == _top ? sums[_start[level]..] : sums[_start[level].._start[level + 1]];
            var child = 0;
            for (var node = 0; node < here.Length; node += w)
            {
                var running = T.Zero;
                for (var lane = 0; lane < w; lane++, child++)
                {
                    if (child * w < below.Length)
                        running += below[child * w + w - 1];
                    here[node + lane] = running;
                }
            }
        }
    }

    private static void FillRunningSums(ReadOnlySpan<long> weights, Span<T> leaves, int w)
    {
        for (var node = 0; node < leaves.Length; node += w)
        {
            var running = T.Zero;
            for (var lane = 0; lane < w; lane++)
            {
                var slot = node + lane;
                if (slot < weights.Length)
                    running += T.CreateTruncating(weights[slot]);
                leaves[slot] = running;
            }
        }
    }

    /// <summary>The slot whose cumulative range holds <paramref name="target"/> (below the urn's total), removed; its weight in <paramref name="taken"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Take(T target, out T taken)
    {
        ref var sums = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_sums), _base);
        var index = 0;
        var before = T.Zero;
        ref var node = ref sums;
        int lane;
        var leaf = Vector512<T>.Zero;
        var level = _top;
        while (true)
        {
            node = ref Unsafe.Add(ref sums, _start[level] + (index << WidthBits));
            // Running sums only grow along a node, so those at most the target are a prefix; its length is the child.
            var sumsHere = leaf = Vector512.LoadUnsafe(ref node);
            lane = BitOperations.PopCount(Vector512.LessThanOrEqual(sumsHere, Vector512.Create(target)).ExtractMostSignificantBits());
            // The running sum before the child (none for the first): lane - 1 of the node, an index out of range (0 for none) gives 0.
            before = LaneOrZero(sumsHere, lane - 1);
            target -= before;
            index = (index << WidthBits) + lane;
            if (level == 0)
                break;
            level--;
        }
        taken = LaneOrZero(leaf, lane) - before;
        Remove(index, taken);
        return index;
    }

    /// <summary>Subtracts the slot's weight from every running sum that includes it: the lanes from its child onwards, one node a level.</summary>
    private void Remove(int slot, T weight)
    {
        ref var sums = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_sums), _base);
        var lanes = Lanes();
        var amount = Vector512.Create(weight);
        for (var level = 0; level <= _top; level++)
        {
            var lane = slot & (Width - 1);
            slot >>= WidthBits;
            ref var node = ref Unsafe.Add(ref sums, _start[level] + (slot << WidthBits));
            var v = Vector512.LoadUnsafe(ref node);
            var from = Vector512.GreaterThanOrEqual(lanes, Vector512.Create(T.CreateTruncating(lane)));
            (v - (amount & from)).StoreUnsafe(ref node);
        }
    }

    /// <summary>Lane <paramref name="lane"/> of <paramref name="sums"/>, 0 for -1: a permute in registers, not a load from the line just stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T LaneOrZero(Vector512<T> sums, int lane)
    {
        if (typeof(T) == typeof(uint))
            return T.CreateTruncating(Vector512.Shuffle(sums.AsUInt32(), Vector512.Create((uint)lane)).ToScalar());
        return T.CreateTruncating(Vector512.Shuffle(sums.AsUInt64(), Vector512.Create((ulong)(long)lane)).ToScalar());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Lanes() => Vector512<T>.Indices;

    public void Dispose()
    {
        _pin.Free();
        _buffer.Dispose();
    }

    [InlineArray(MaxLevels)]
    private struct LevelStarts
    {
        private int _element;
    }
}
