using System.Collections.Immutable;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>
/// The market's history: one <see cref="MarketState"/> per cycle, oldest first. Immutable: <see cref="Append"/>
/// returns a new history, so a simulation can keep, compare or replay histories freely.
/// </summary>
public sealed class MarketHistory
{
    private readonly ImmutableList<MarketState> _cycles;

    private MarketHistory(ImmutableList<MarketState> cycles) => _cycles = cycles;

    /// <summary>No cycles yet.</summary>
    public static MarketHistory Empty { get; } = new(ImmutableList<MarketState>.Empty);

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
