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
        using var tree = new Scratch<long>(n + 1);
        var weights = new FenwickTree(tree.Array, n);
        long total = 0;
        for (var s = 0; s < n; s++)
            total += tree.Array[s + 1] = bids.Amount[slots[s]];
        weights.Build();

        using var agentWon = new Scratch<bool>(input.OneWinPerAgent ? bids.AgentCount : 0);
        var random = new SplitMix64(input.Seed);
        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(n);
        Span<int> covering = stackalloc int[32];
        while (total > 0)
        {
            var slot = weights.FindByCumulative((long)random.NextBelow((ulong)total), covering, out var covers);
            var i = slots[slot];
            var amount = bids.Amount[i];
            weights.Remove(covering[..covers], amount);
            total -= amount;
            if (bids.Fits(i, remaining) && (!input.OneWinPerAgent || !agentWon.Array[bids.AgentOf[i]]))
            {
                if (input.OneWinPerAgent)
                    agentWon.Array[bids.AgentOf[i]] = true;
                bids.Take(i, remaining);
                winners.Add(bids.Allocate(i, amount));
            }
            else
                losers.Add(bids.Ids[i]);
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>Prefix sums of integer weights (slot s at tree[s + 1]) with O(log n) search-and-remove.</summary>
    private readonly struct FenwickTree(long[] tree, int size)
    {
        private readonly int _top = size == 0 ? 0 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size + 1) >> 1;

        /// <summary>Turns the weights in place into the tree, in O(n).</summary>
        public void Build()
        {
            for (var i = 1; i <= size; i++)
            {
                var parent = i + (i & -i);
                if (parent <= size)
                    tree[parent] += tree[i];
            }
        }

        /// <summary>
        /// The slot whose cumulative range [prefix before it, prefix including it) holds <paramref name="target"/>.
        /// The nodes the search looks at without advancing are exactly the nodes that cover the slot (the ones an
        /// update walks up through); they are written to <paramref name="covering"/> for <see cref="Remove"/>, which
        /// then touches them while they are in cache instead of walking up anew.
        /// </summary>
        public int FindByCumulative(long target, Span<int> covering, out int covers)
        {
            covers = 0;
            var position = 0;
            for (var step = _top; step > 0; step >>= 1)
            {
                var next = position + step;
                if (next > size)
                    continue;
                if (tree[next] <= target)
                {
                    position = next;
                    target -= tree[next];
                }
                else
                    covering[covers++] = next;
            }
            return position;
        }

        /// <summary>Takes <paramref name="weight"/> off the nodes <see cref="FindByCumulative"/> found covering its slot.</summary>
        public void Remove(ReadOnlySpan<int> covering, long weight)
        {
            foreach (var node in covering)
                tree[node] -= weight;
        }
    }
}
