using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>The market after one cycle: one <see cref="ResourceMarketState"/> per kind, in <see cref="ResourceKinds.All"/> order.</summary>
/// <param name="Cycle">The cycle.</param>
/// <param name="Kinds">Per-kind state, in the stable kind order.</param>
public sealed record MarketState(long Cycle, IReadOnlyList<ResourceMarketState> Kinds)
{
    /// <summary>The state of one kind.</summary>
    public ResourceMarketState this[ResourceKind kind] => Kinds[(int)kind];

    /// <summary>The prices that were in force during the cycle.</summary>
    public MarketPrices Prices => new(Kinds[0].Price, Kinds[1].Price, Kinds[2].Price, Kinds[3].Price);

    /// <summary>The prices for the next cycle.</summary>
    public MarketPrices NextPrices => new(Kinds[0].NextPrice, Kinds[1].NextPrice, Kinds[2].NextPrice, Kinds[3].NextPrice);

    /// <summary>Builds the state of a cycle from its totals and applies the pricing rule.</summary>
    public static MarketState Create(long cycle, ResourceBundle supply, ResourceBundle demand, ResourceBundle allocated,
        MarketPrices prices, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(prices);
        return Build(cycle, supply, demand, allocated, prices, TatonnementPricing.Next(prices, supply, demand, options));
    }

    /// <summary>Builds the state of a cycle whose prices do not move: the next prices are the prices in force.</summary>
    public static MarketState WithFixedPrices(long cycle, ResourceBundle supply, ResourceBundle demand, ResourceBundle allocated,
        MarketPrices prices)
    {
        ArgumentNullException.ThrowIfNull(prices);
        return Build(cycle, supply, demand, allocated, prices, prices);
    }

    private static MarketState Build(long cycle, ResourceBundle supply, ResourceBundle demand, ResourceBundle allocated,
        MarketPrices prices, MarketPrices next)
    {
        var kinds = ResourceKinds.All
            .Select(k => new ResourceMarketState(k, supply[k], demand[k], allocated[k], prices[k], next[k]))
            .ToArray();
        return new MarketState(cycle, kinds);
    }
}
