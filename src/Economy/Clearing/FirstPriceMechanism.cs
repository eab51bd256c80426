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
        var bids = PreparedBids.From(input);
        var density = new double[bids.Count];
        for (var i = 0; i < density.Length; i++)
            density[i] = bids.Bids[i].Amount / bids.NormalizedSize[i];
        var order = bids.OrderByExactKey(density, power: 1);
        var reserve = input.Reserve;
        var winningAgents = input.OneWinPerAgent ? new HashSet<string>(StringComparer.Ordinal) : null;

        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(bids.Count);
        foreach (var i in order)
        {
            // Only a bid that fits is asked about its agent: the set lookups stay about as few as the winners.
            if (bids.Fits(i, remaining) &&
                (reserve is null || bids.Bids[i].Amount >= reserve.CostOf(bids.Bids[i].Bundle)) &&
                (winningAgents is null || winningAgents.Add(bids.Bids[i].AgentId)))
            {
                bids.Take(i, remaining);
                winners.Add(bids.Allocate(i, bids.Bids[i].Amount));
            }
            else
                losers.Add(bids.Ids[i]);
        }
        return bids.Result(Name, winners, losers, remaining);
    }
}
