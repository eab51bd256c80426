using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// The lottery's urn: integer weights in slot order, drawn by cumulative position and removed (ADR 0146). A tree
/// whose nodes are one 64-byte line each, <see cref="Width"/> running sums of their children (16 in 32 bits, 8 in
/// 64 bits), under a root of up to four such lines side by side; a draw goes down the levels (4 at 100,000 slots
/// in 32 bits) and finds its child in each node by vector compares (the count of running sums at most the target)
/// instead of a binary walk's unpredictable branch per level. The slot
/// found is the one a linear scan finds: the first whose cumulative range [prefix before it, prefix including it)
/// holds the target. <typeparamref name="T"/> is <see cref="uint"/> when the total fits (half the bytes a draw
/// reads, twice the children a node), else <see cref="ulong"/>.
/// </summary>
internal readonly struct LotteryUrn<T> : IDisposable where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>
{
    /// <summary>Children a node: as many sums as one 64-byte vector holds.</summary>
    public static int Width => Vector512<T>.Count;

    private static int WidthBits => BitOperations.Log2((uint)Width);

    /// <summary>Deep enough for 2^31 slots at 8 children a node (11 levels; fewer with the wide root).</summary>
    private const int MaxLevels = 12;

    private readonly Scratch<T> _buffer;
    private readonly T[] _sums;
    /// <summary>Where each level's nodes start in <see cref="_sums"/>, leaves (level 0) first; the last level is the root.</summary>
    private readonly LevelStarts _start;
    private readonly int _top;
    /// <summary>Lines (nodes of <see cref="Width"/>) side by side in the root.</summary>
    private readonly int _rootLines;
    /// <summary>
    /// Most lines side by side in the root: their compares are independent, so a root four lines wide costs about
    /// what one line costs and saves a level (4 levels instead of 5 at 100,000 bids in 32 bits).
    /// </summary>
    private const int RootLines = 4;
    private readonly GCHandle _pin;
    /// <summary>Index of the first 64-byte aligned element of the pinned <see cref="_sums"/>, where the levels start.</summary>
    private readonly int _base;

    /// <param name="weights">Each slot's weight, in slot order; the sum must fit <typeparamref name="T"/>.</param>
    public LotteryUrn(ReadOnlySpan<long> weights)
    {
        var w = Width;
        var levels = 0;
        var size = 0;
        // Level 0's children are the slots, each level's the nodes below it; the root is the first level whose
        // children fit RootLines nodes side by side, searched as one wide node (one level fewer to go down).
        for (var children = weights.Length; ; )
        {
            var nodes = Math.Max(1, (children + w - 1) >> WidthBits);
            _start[levels++] = size;
            size += nodes * w;
            if (nodes <= RootLines)
            {
                _rootLines = nodes;
                break;
            }
            children = nodes;
        }
        _top = levels - 1;
        // Nodes on 64-byte boundaries: a node is then one line, and a draw's reads of a node the last draw just
        // wrote are served from that one store (a node split across lines is two stores no load can be served from).
        _buffer = new Scratch<T>(size + w);
        _sums = _buffer.Array;
        _pin = GCHandle.Alloc(_sums, GCHandleType.Pinned);
        _base = (int)((64 - (_pin.AddrOfPinnedObject() & 63)) & 63) / Unsafe.SizeOf<T>();
        // Each node holds running sums of its children, the root across all its lines; unused lanes repeat the
        // node's total, so no target (always below it) counts them.
        var sums = _sums.AsSpan(_base, size);
        for (var level = 0; level <= _top; level++)
        {
            var here = level == _top ? sums[_start[level]..] : sums[_start[level].._start[level + 1]];
            var node = level == _top ? here.Length : w;
            // A child below the leaves is a slot's weight, above them a node's total: its last running sum.
            var below = level == 0 ? default : sums[_start[level - 1].._start[level]];
            var children = level == 0 ? weights.Length : below.Length >> WidthBits;
            var running = T.Zero;
            for (var child = 0; child < here.Length; child++)
            {
                if (child % node == 0)
                    running = T.Zero;
                if (child < children)
                    running += level == 0 ? T.CreateTruncating(weights[child]) : below[(child << WidthBits) + w - 1];
                here[child] = running;
            }
        }
    }

    /// <summary>The slot whose cumulative range holds <paramref name="target"/> (below the urn's total), removed; its weight in <paramref name="taken"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Take(T target, out T taken)
    {
        ref var sums = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_sums), _base);
        var level = _top;
        // The root: its lines compared side by side, the child is how many running sums of all of them are at most the target.
        ref var node = ref Unsafe.Add(ref sums, _start[level]);
        var wanted = Vector512.Create(target);
        var lane = 0;
        for (var line = 0; line < _rootLines; line++)
            lane += BitOperations.PopCount(Vector512.LessThanOrEqual(Vector512.LoadUnsafe(ref node, (nuint)(line << WidthBits)), wanted).ExtractMostSignificantBits());
        // The running sum before the child, zero (masked) for the first.
        var before = Unsafe.Add(ref node, Math.Max(lane - 1, 0)) & T.CreateTruncating(0UL - (ulong)Math.Min(lane, 1));
        target -= before;
        var index = lane;
        var leaf = Vector512<T>.Zero;
        while (level > 0)
        {
            level--;
            node = ref Unsafe.Add(ref sums, _start[level] + (index << WidthBits));
            // Running sums only grow along a node, so those at most the target are a prefix; its length is the child.
            var sumsHere = leaf = Vector512.LoadUnsafe(ref node);
            lane = BitOperations.PopCount(Vector512.LessThanOrEqual(sumsHere, Vector512.Create(target)).ExtractMostSignificantBits());
            // The running sum before the child (none for the first): lane - 1 of the node, an index out of range (0 for none) gives 0.
            before = LaneOrZero(sumsHere, lane - 1);
            target -= before;
            index = (index << WidthBits) + lane;
        }
        // The running sum through the child, less the one before it: the child's weight (the root may be several lines).
        taken = (_top == 0 ? Unsafe.Add(ref node, lane) : LaneOrZero(leaf, lane)) - before;
        Remove(index, taken);
        return index;
    }

    /// <summary>Subtracts the slot's weight from every running sum that includes it: the lanes from its child onwards, one node a level.</summary>
    private void Remove(int slot, T weight)
    {
        ref var sums = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_sums), _base);
        var lanes = Lanes();
        var amount = Vector512.Create(weight);
        for (var level = 0; level < _top; level++)
        {
            var lane = slot & (Width - 1);
            slot >>= WidthBits;
            ref var node = ref Unsafe.Add(ref sums, _start[level] + (slot << WidthBits));
            var v = Vector512.LoadUnsafe(ref node);
            var from = Vector512.GreaterThanOrEqual(lanes, Vector512.Create(T.CreateTruncating(lane)));
            (v - (amount & from)).StoreUnsafe(ref node);
        }
        // In the root, slot is now the child's lane among all its lines.
        ref var root = ref Unsafe.Add(ref sums, _start[_top]);
        for (var line = 0; line < _rootLines; line++)
        {
            var from = Vector512.GreaterThanOrEqual(lanes, Vector512.Create(T.CreateTruncating(Math.Max(0, slot - (line << WidthBits)))));
            var v = Vector512.LoadUnsafe(ref root, (nuint)(line << WidthBits));
            (v - (amount & from)).StoreUnsafe(ref root, (nuint)(line << WidthBits));
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
