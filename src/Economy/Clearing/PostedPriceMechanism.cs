namespace CyAgents.Economy.Clearing;

/// <summary>
/// <c>posted-price</c>: spot-like selling at the current prices. A bid is eligible when its amount covers the
/// bundle's posted cost (<see cref="Market.MarketPrices.CostOf"/>); eligible bids are served highest surplus
/// (amount minus cost) first, equal surplus by the larger amount, then by id, while capacity remains, and each
/// winner pays the posted cost, not its bid.
/// Truthful in whether to buy (the price does not depend on the bid), though rationing by surplus under scarcity
/// is not. O(n log n). An agent whose bid already won loses its other bids (<see cref="ClearingInput.OneWinPerAgent"/>).
/// The posted prices are this mechanism's reserve; <see cref="ClearingInput.Reserve"/> is not used.
/// </summary>
public sealed class PostedPriceMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "posted-price";

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        using var costs = new Scratch<long>(n);
        using var surpluses = new Scratch<long>(n);
        var cost = costs.Array;
        var surplus = surpluses.Array;
        for (var i = 0; i < n; i++)
        {
            // CostOf saturates at long.MaxValue for absurd prices, and amount >= 1, so this cannot overflow.
            // Bids below cost keep their (negative) surplus: they then lose in order of how far short they fall.
            cost[i] = bids.CostOf(i, input.Prices);
            surplus[i] = bids.Amount[i] - cost[i];
        }
        // Equal surplus: the larger bid first (more welfare and revenue for the same surplus), then the id.
        using var order = new Scratch<int>(n);
        bids.OrderByDescending(surpluses.Span, bids.Amount.AsSpan(0, n), hasSecondary: true, order.Span);

        using var agentWon = new Scratch<bool>(input.OneWinPerAgent ? bids.AgentCount : 0);
        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        var losers = new List<string>(n);
        foreach (var i in order.Span)
        {
            if (surplus[i] >= 0 && bids.Fits(i, remaining) &&
                (!input.OneWinPerAgent || !agentWon.Array[bids.AgentOf[i]]))
            {
                if (input.OneWinPerAgent)
                    agentWon.Array[bids.AgentOf[i]] = true;
                bids.Take(i, remaining);
                winners.Add(bids.Allocate(i, cost[i]));
            }
            else
                losers.Add(bids.Ids[i]);
        }
        return bids.Result(Name, winners, losers, remaining);
    }
}
