using CyAgents.Economy.Clearing;
using CyAgents.Economy.Persistence.Records;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>The market of one resource kind in one cycle.</summary>
/// <param name="Kind">The resource kind.</param>
/// <param name="Supply">Units on offer.</param>
/// <param name="Demand">Units asked for by all bids, won or lost (the demand signal of the pricing rule).</param>
/// <param name="Allocated">Units granted to winners (never more than <paramref name="Supply"/>).</param>
/// <param name="Price">Price per unit in force during the cycle, in credits.</param>
/// <param name="NextPrice">Price per unit the pricing rule set for the next cycle.</param>
public readonly record struct ResourceMarketState(ResourceKind Kind, long Supply, long Demand, long Allocated, double Price, double NextPrice)
{
    /// <summary>Allocated over supply, in [0, 1]; 0 without supply.</summary>
    public double Utilization => Supply == 0 ? 0 : (double)Allocated / Supply;

    /// <summary>Demand over supply; 0 without supply.</summary>
    public double DemandRatio => Supply == 0 ? 0 : (double)Demand / Supply;
}

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

    /// <summary>
    /// Closes a cycle: demand is the sum of all bids' bundles, allocation comes from the clearing, and the next
    /// prices from <see cref="TatonnementPricing"/> applied to the prices of <paramref name="input"/>.
    /// </summary>
    public static MarketState AfterClearing(long cycle, ClearingInput input, ClearingResult result, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(result);
        var demand = new long[ResourceKinds.Count];
        foreach (var bid in input.Bids)
        {
            foreach (var kind in ResourceKinds.All)
                demand[(int)kind] = checked(demand[(int)kind] + bid.Bundle[kind]);
        }
        return Create(cycle, input.Supply,
            ResourceBundle.Create(demand[0], demand[1], demand[2], demand[3]), result.Allocated, input.Prices, options);
    }

    /// <summary>Builds the state of a cycle from its totals and applies the pricing rule.</summary>
    public static MarketState Create(long cycle, ResourceBundle supply, ResourceBundle demand, ResourceBundle allocated,
        MarketPrices prices, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(prices);
        var next = TatonnementPricing.Next(prices, supply, demand, options);
        var kinds = ResourceKinds.All
            .Select(k => new ResourceMarketState(k, supply[k], demand[k], allocated[k], prices[k], next[k]))
            .ToArray();
        return new MarketState(cycle, kinds);
    }

    /// <summary>The rows persisted for this cycle.</summary>
    public IReadOnlyList<MarketStateRecord> ToRecords() => Kinds.Select(s => new MarketStateRecord
    {
        Cycle = Cycle,
        Kind = s.Kind,
        Supply = s.Supply,
        Demand = s.Demand,
        Allocated = s.Allocated,
        Utilization = s.Utilization,
        Price = s.Price,
        NextPrice = s.NextPrice,
    }).ToArray();

    /// <summary>Rebuilds a cycle's state from its persisted rows (one per kind).</summary>
    public static MarketState FromRecords(IEnumerable<MarketStateRecord> records)
    {
        var rows = records.OrderBy(r => r.Kind).ToArray();
        if (rows.Length != ResourceKinds.Count || rows.Select(r => r.Cycle).Distinct().Count() != 1)
            throw new ArgumentException("a market state needs exactly one row per resource kind, all of one cycle", nameof(records));
        return new MarketState(rows[0].Cycle,
            rows.Select(r => new ResourceMarketState(r.Kind, r.Supply, r.Demand, r.Allocated, r.Price, r.NextPrice)).ToArray());
    }
}

/// <summary>
/// The market's history: one <see cref="MarketState"/> per cycle, oldest first. Immutable: <see cref="Append"/>
/// returns a new history, so a simulation can keep, compare or replay histories freely.
/// </summary>
public sealed class MarketHistory
{
    private readonly System.Collections.Immutable.ImmutableList<MarketState> _cycles;

    private MarketHistory(System.Collections.Immutable.ImmutableList<MarketState> cycles) => _cycles = cycles;

    /// <summary>No cycles yet.</summary>
    public static MarketHistory Empty { get; } = new(System.Collections.Immutable.ImmutableList<MarketState>.Empty);

    /// <summary>The cycles, oldest first.</summary>
    public IReadOnlyList<MarketState> Cycles => _cycles;

    /// <summary>The latest cycle, or null before the first.</summary>
    public MarketState? Latest => _cycles.Count == 0 ? null : _cycles[^1];

    /// <summary>Prices for the coming cycle: the latest cycle's next prices, or <paramref name="initial"/>.</summary>
    public MarketPrices CurrentPrices(MarketPrices initial) => Latest?.NextPrices ?? initial;

    /// <summary>A history with one more cycle; cycles must increase.</summary>
    public MarketHistory Append(MarketState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (Latest is { } last && state.Cycle <= last.Cycle)
            throw new ArgumentException($"cycle {state.Cycle} does not follow cycle {last.Cycle}", nameof(state));
        return new MarketHistory(_cycles.Add(state));
    }

    /// <summary>The in-force price of one kind over the cycles, oldest first (input of price volatility).</summary>
    public IReadOnlyList<double> PriceSeries(ResourceKind kind) => _cycles.Select(c => c[kind].Price).ToArray();

    /// <summary>Utilization of one kind over the cycles, oldest first.</summary>
    public IReadOnlyList<double> UtilizationSeries(ResourceKind kind) => _cycles.Select(c => c[kind].Utilization).ToArray();
}
