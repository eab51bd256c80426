using CyAgents.Economy.Market;

namespace CyAgents.Economy.Clearing;

/// <summary>
/// Where a cycle's reserve prices come from (ADR 0123): none, the posted prices in force, or fixed prices per unit.
/// First-price and critical-value refuse a bid below its bundle's reserve cost, and critical-value charges at least it.
/// </summary>
public sealed record ReserveRule
{
    private ReserveRule(string kind, MarketPrices? fixedPrices) => (Kind, FixedPrices) = (kind, fixedPrices);

    /// <summary>No reserve: an uncontested winner of critical-value pays 0.</summary>
    public static ReserveRule None { get; } = new("none", null);

    /// <summary>The posted prices of the cycle are the reserve (so the host earns at least what prices say supply is worth).</summary>
    public static ReserveRule Posted { get; } = new("posted", null);

    /// <summary>Fixed reserve prices per unit of each kind.</summary>
    public static ReserveRule Fixed(MarketPrices prices) => new("fixed", prices ?? throw new ArgumentNullException(nameof(prices)));

    /// <summary><c>none</c>, <c>posted</c> or <c>fixed</c>.</summary>
    public string Kind { get; }

    /// <summary>The prices of a <c>fixed</c> rule; null otherwise.</summary>
    public MarketPrices? FixedPrices { get; }

    /// <summary>The reserve prices for a cycle whose posted prices are <paramref name="posted"/>; null for none.</summary>
    public MarketPrices? For(MarketPrices posted) => Kind switch
    {
        "posted" => posted,
        "fixed" => FixedPrices,
        _ => null,
    };
}
