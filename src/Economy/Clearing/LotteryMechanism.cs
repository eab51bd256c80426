using System.Numerics;
using System.Runtime.Intrinsics;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// <c>lottery</c>: bids are drawn one at a time without replacement, each with probability proportional to its
/// amount among those not yet drawn; a drawn bid wins if it still fits, otherwise it loses (it could never fit
/// later, capacity only shrinks). Draws continue until every bid is drawn. Winners pay their bid (the lottery
/// sells chances; paying less would only invite inflated bids). Randomness comes only from
/// <see cref="ClearingInput.Seed"/> through <see cref="SplitMix64"/>, with integer weights in a Fenwick tree, so
/// the same seed gives the same result on every machine. O(n log n). A drawn bid whose agent already won loses
/// (<see cref="ClearingInput.OneWinPerAgent"/>); reserves are not used (the lottery sells chances, not a price).
/// </summary>
public sealed class LotteryMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "lottery";

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        // Slots in ordinal-id order make the draw independent of the order bids arrive in.
        using var slotOrder = new Scratch<int>(n);
        var slots = slotOrder.Array;
        bids.OrderById(slotOrder.Span);
        using var weightBuffer = new Scratch<long>(n);
        var weight = weightBuffer.Array;
        // What a draw needs of its bid, copied into slot order in one place: the copy reads at random once and
        // independently (the memory system overlaps such reads), where each draw's reads wait on the draw.
        using var slotBuffer = new Scratch<Slot>(n);
        var slotBid = slotBuffer.Array;
        long total = 0;
        for (var s = 0; s < n; s++)
        {
            var i = slots[s];
            total += weight[s] = bids.Amount[i];
            var q = bids.Quantity.AsSpan(i * PreparedBids.Kinds, PreparedBids.Kinds);
            slotBid[s] = new Slot(q[0], q[1], q[2], q[3], i, bids.AgentOf[i], bids.Ids[i]);
        }
        // Which bid wins never changes what is drawn next (every drawn bid leaves the urn, winner or not), so the
        // whole draw order comes first, touching only the weights (ADR 0145); the fit test then reads the drawn bids
        // in an order known in advance, so their reads overlap instead of each waiting on the draw before it.
        using var blockBuffer = new Scratch<long>(BlockedWeights.BlockCount(n) + 1);
        var weights = new BlockedWeights(weight, blockBuffer.Array, n);
        using var drawBuffer = new Scratch<int>(n);
        var drawn = drawBuffer.Array;
        var random = new SplitMix64(input.Seed);
        var draws = 0;
        while (total > 0)
        {
            var slot = weights.Take((long)random.NextBelow((ulong)total), out var amount);
            total -= amount;
            drawn[draws++] = slot;
        }

        using var agentWon = new Scratch<bool>(input.OneWinPerAgent ? bids.AgentCount : 0);
        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(n);
        for (var t = 0; t < draws; t++)
        {
            ref readonly var b = ref slotBid[drawn[t]];
            if (b.Cpu <= remaining[0] && b.Memory <= remaining[1] && b.Tokens <= remaining[2] && b.Attention <= remaining[3] &&
                (!input.OneWinPerAgent || !agentWon.Array[b.Agent]))
            {
                if (input.OneWinPerAgent)
                    agentWon.Array[b.Agent] = true;
                remaining[0] -= b.Cpu;
                remaining[1] -= b.Memory;
                remaining[2] -= b.Tokens;
                remaining[3] -= b.Attention;
                winners.Add(bids.Allocate(b.Bid, bids.Amount[b.Bid]));
            }
            else
                losers.Add(b.Id);
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>A bid as a draw sees it: its bundle, index, agent number and id.</summary>
    private readonly record struct Slot(long Cpu, long Memory, long Tokens, long Attention, int Bid, int Agent, string Id);

    /// <summary>
    /// Integer weights in slot order, drawn by cumulative position and removed: a Fenwick tree over blocks of
    /// <see cref="Block"/> slots (small enough to stay in cache) finds the block, a scan of at most that many adjacent
    /// weights finds the slot. The same slot a Fenwick tree over the slots would find (the first whose cumulative
    /// range holds the target), at a few cache misses a draw instead of one per tree level.
    /// </summary>
    private readonly struct BlockedWeights
    {
        private const int Block = 32;
        private readonly long[] _weight;
        private readonly long[] _tree;
        private readonly int _blocks;
        private readonly int _top;

        public static int BlockCount(int slots) => (slots + Block - 1) / Block;

        /// <param name="weight">Each slot's weight; zeroed as slots are taken.</param>
        /// <param name="tree">Zeroed, at least BlockCount + 1 long: the Fenwick tree of block sums (1-based).</param>
        /// <param name="slots">Number of slots.</param>
        public BlockedWeights(long[] weight, long[] tree, int slots)
        {
            _weight = weight;
            _tree = tree;
            _blocks = BlockCount(slots);
            _top = _blocks == 0 ? 0 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_blocks + 1) >> 1;
            for (var s = 0; s < slots; s++)
                tree[s / Block + 1] += weight[s];
            for (var b = 1; b <= _blocks; b++)
            {
                var parent = b + (b & -b);
                if (parent <= _blocks)
                    tree[parent] += tree[b];
            }
        }

        /// <summary>The slot whose cumulative range [prefix before it, prefix including it) holds <paramref name="target"/>, removed; its weight in <paramref name="taken"/>.</summary>
        public int Take(long target, out long taken)
        {
            var position = 0;
            for (var step = _top; step > 0; step >>= 1)
            {
                var next = position + step;
                if (next <= _blocks && _tree[next] <= target)
                {
                    position = next;
                    target -= _tree[next];
                }
            }
            // position is the block (0-based) holding the target; the slot is the first whose weight exceeds what is left.
            var slot = position * Block;
            while (target >= _weight[slot])
                target -= _weight[slot++];
            taken = _weight[slot];
            _weight[slot] = 0;
            for (var b = position + 1; b <= _blocks; b += b & -b)
                _tree[b] -= taken;
            return slot;
        }
    }
}
