namespace CyAgents.Economy.Clearing;

/// <summary>
/// <c>first-price</c>: greedy by bid density, the amount over the bundle's size normalized by supply
/// (sum over kinds of q_k / S_k). Bids are taken in density order while they fit; winners pay their bid.
/// Not truthful (a winner gains by shading its bid). O(n log n) for the sort plus O(n) for the pass.
/// Densities are compared exactly (ties by id, ADR 0120); a bid below its reserve cost loses; an agent whose
/// bid already won loses its other bids (<see cref="ClearingInput.OneWinPerAgent"/>).
/// </summary>
public sealed class FirstPriceMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "first-price";

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        using var density = new Scratch<double>(n);
        var key = density.Array;
        for (var i = 0; i < n; i++)
            key[i] = bids.Amount[i] / bids.NormalizedSize[i];
        using var order = new Scratch<int>(n);
        bids.OrderByExactKey(key, power: 1, order.Span);
        var reserve = input.Reserve;
        using var agentWon = new Scratch<bool>(input.OneWinPerAgent ? bids.AgentCount : 0);

        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(n);
        foreach (var i in order.Span)
        {
            // Only a bid that fits is asked about its reserve and its agent.
            if (bids.Fits(i, remaining) &&
                (reserve is null || bids.Amount[i] >= bids.CostOf(i, reserve)) &&
                (!input.OneWinPerAgent || !agentWon.Array[bids.AgentOf[i]]))
            {
                if (input.OneWinPerAgent)
                    agentWon.Array[bids.AgentOf[i]] = true;
                bids.Take(i, remaining);
                winners.Add(bids.Allocate(i, bids.Amount[i]));
            }
            else
                losers.Add(bids.Ids[i]);
        }
        return bids.Result(Name, winners, losers, remaining);
    }
}
