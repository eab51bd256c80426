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
        var bids = PreparedBids.From(input);
        // Slots in ordinal-id order make the draw independent of the order bids arrive in.
        var slots = bids.OrderById();
        var weights = new FenwickTree(slots.Length);
        long total = 0;
        for (var s = 0; s < slots.Length; s++)
        {
            var amount = bids.Bids[slots[s]].Amount;
            weights.Add(s, amount);
            total += amount;
        }

        var winningAgents = input.OneWinPerAgent ? new HashSet<string>(StringComparer.Ordinal) : null;
        var random = new SplitMix64(input.Seed);
        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(bids.Count);
        while (total > 0)
        {
            var slot = weights.FindByCumulative((long)random.NextBelow((ulong)total));
            var i = slots[slot];
            var amount = bids.Bids[i].Amount;
            weights.Add(slot, -amount);
            total -= amount;
            if (bids.Fits(i, remaining) && (winningAgents is null || winningAgents.Add(bids.Bids[i].AgentId)))
            {
                bids.Take(i, remaining);
                winners.Add(bids.Allocate(i, amount));
            }
            else
                losers.Add(bids.Ids[i]);
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>Prefix sums of integer weights with O(log n) update and search.</summary>
    private sealed class FenwickTree(int size)
    {
        private readonly long[] _tree = new long[size + 1];

        public void Add(int index, long delta)
        {
            for (var i = index + 1; i < _tree.Length; i += i & -i)
                _tree[i] += delta;
        }

        /// <summary>The slot whose cumulative range [prefix before it, prefix including it) holds <paramref name="target"/>.</summary>
        public int FindByCumulative(long target)
        {
            var position = 0;
            var step = 1;
            while (step * 2 < _tree.Length)
                step *= 2;
            for (; step > 0; step >>= 1)
            {
                var next = position + step;
                if (next < _tree.Length && _tree[next] <= target)
                {
                    position = next;
                    target -= _tree[next];
                }
            }
            return position;
        }
    }
}
