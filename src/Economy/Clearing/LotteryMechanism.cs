using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// <c>lottery</c>: bids are drawn one at a time without replacement, each with probability proportional to its
/// amount among those not yet drawn; a drawn bid wins if it still fits, otherwise it loses (it could never fit
/// later, capacity only shrinks). Draws continue until every bid is drawn. Winners pay their bid (the lottery
/// sells chances; paying less would only invite inflated bids). Randomness comes only from
/// <see cref="ClearingInput.Seed"/> through <see cref="SplitMix64"/>, with integer weights in a tree of running sums
/// (<see cref="LotteryUrn{T}"/>), so the same seed gives the same result on every machine. O(n log n). A drawn bid whose agent already won loses
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
        var weight = weightBuffer.Span;
        long total = 0;
        for (var s = 0; s < n; s++)
            total += weight[s] = bids.Amount[slots[s]];
        // Which bid wins never changes what is drawn next (every drawn bid leaves the urn, winner or not), so the
        // whole draw order comes first, touching only the weights (ADR 0145); the fit test then reads the drawn bids
        // in an order known in advance, so their reads overlap instead of each waiting on the draw before it.
        using var drawBuffer = new Scratch<int>(n);
        var drawn = drawBuffer.Array.AsSpan(0, n);
        var random = new SplitMix64(input.Seed);
        var draws = total <= uint.MaxValue
            ? Draw<uint>(weight, slots, total, random, drawn)
            : Draw<ulong>(weight, slots, total, random, drawn);
        drawn = drawn[..draws];
        // The losers' list is filled in place, in draw order; every draw could lose, so it has room for all of them.
        var losers = new List<string>(draws);
        CollectionsMarshal.SetCount(losers, draws);
        using var winnerBuffer = new Scratch<int>(draws);
        var left = Fit(bids, drawn, input.OneWinPerAgent, winnerBuffer.Span, CollectionsMarshal.AsSpan(losers), out var winnerCount);
        CollectionsMarshal.SetCount(losers, draws - winnerCount);
        var winners = new List<Allocation>(winnerCount);
        foreach (var i in winnerBuffer.Span[..winnerCount])
            winners.Add(bids.Allocate(i, bids.Amount[i]));
        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        left.CopyTo(remaining);
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>
    /// The fit test of every drawn bid (<paramref name="drawn"/>: bid indices in draw order): the winners' indices
    /// go to <paramref name="winners"/>, the losers' ids to <paramref name="losers"/>, both in draw order; returns
    /// the capacity left. Without a branch on the outcome (each draw writes both places and advances one): a
    /// mispredicted branch would discard the reads of the next bids that the processor has already started, and
    /// those reads are most of the work.
    /// </summary>
    private static Vector256<long> Fit(PreparedBids bids, ReadOnlySpan<int> drawn, bool oneWinPerAgent, Span<int> winners, Span<string> losers, out int winnerCount)
    {
        // A bundle is one vector of longs, as the flat quantities lay it out (the JIT folds the check away).
        if (PreparedBids.Kinds != Vector256<long>.Count)
            throw new InvalidOperationException($"the lottery's fit test reads {Vector256<long>.Count} kinds a bundle, not {PreparedBids.Kinds}");
        ref var quantity = ref MemoryMarshal.GetArrayDataReference(bids.Quantity);
        var remaining = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(bids.Supply));
        using var agentWonBuffer = new Scratch<bool>(oneWinPerAgent ? bids.AgentCount : 0);
        var agentWon = agentWonBuffer.Span;
        var ids = bids.Ids;
        int w = 0, l = 0;
        for (var t = 0; t < drawn.Length; t++)
        {
            var i = drawn[t];
            var bundle = Vector256.LoadUnsafe(ref quantity, (nuint)(i * PreparedBids.Kinds));
            var fits = Vector256.LessThanOrEqualAll(bundle, remaining);
            if (oneWinPerAgent)
            {
                ref var agent = ref agentWon[bids.AgentOf[i]];
                fits &= !agent;
                agent |= fits;
            }
            var won = Unsafe.As<bool, byte>(ref fits);
            // w and l are at most t, so both writes are in range; the next draw overwrites the one not kept.
            winners[w] = i;
            losers[l] = ids[i];
            w += won;
            l += 1 - won;
            remaining -= bundle & Vector256.Create(-(long)won);
        }
        winnerCount = w;
        return remaining;
    }

    /// <summary>Every bid drawn from the urn of slots, in draw order, until its weight is gone; returns the number of draws.</summary>
    private static int Draw<T>(ReadOnlySpan<long> weights, int[] slots, long total, SplitMix64 random, Span<int> drawn)
        where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>
    {
        using var urn = new LotteryUrn<T>(weights);
        var draws = 0;
        while (total > 0)
        {
            drawn[draws++] = slots[urn.Take(T.CreateTruncating(random.NextBelow((ulong)total)), out var amount)];
            total -= long.CreateTruncating(amount);
        }
        return draws;
    }
}
