using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>
/// Posted unit prices, in credits per unit of each resource kind for one cycle.
/// Prices are real numbers (they move smoothly under the pricing rule); anything charged from them
/// is rounded up to whole credits by <see cref="CostOf"/>, so the ledger only ever sees integers.
/// </summary>
public sealed record MarketPrices
{
    private readonly double[] _perUnit;

    /// <summary>Creates prices; each must be finite and non-negative.</summary>
    public MarketPrices(double cpu, double memory, double tokens, double attention)
    {
        _perUnit = [cpu, memory, tokens, attention];
        for (var i = 0; i < _perUnit.Length; i++)
        {
            if (!double.IsFinite(_perUnit[i]) || _perUnit[i] < 0)
                throw new ArgumentOutOfRangeException(((ResourceKind)i).WireName(), _perUnit[i],
                    "a price must be a finite, non-negative number of credits per unit");
        }
    }

    /// <summary>All prices zero (every bid covers the posted cost).</summary>
    public static MarketPrices Zero { get; } = new(0, 0, 0, 0);

    /// <summary>Price of one unit of <paramref name="kind"/>, in credits.</summary>
    public double this[ResourceKind kind] => _perUnit[(int)kind];

    /// <summary>The posted cost of a bundle, rounded up to whole credits (never undercharges).</summary>
    public long CostOf(ResourceBundle bundle)
    {
        // Spelled out rather than looping over ResourceKinds.All: posted-price calls this for every bid.
        var total = _perUnit[0] * bundle.CpuMillicores + _perUnit[1] * bundle.MemoryMiB
                    + _perUnit[2] * bundle.Tokens + _perUnit[3] * bundle.AttentionBasisPoints;
        return (long)Math.Ceiling(total - 1e-9);
    }

    /// <summary>Returns a copy with one price replaced.</summary>
    public MarketPrices With(ResourceKind kind, double price)
    {
        var p = (double[])_perUnit.Clone();
        p[(int)kind] = price;
        return new MarketPrices(p[0], p[1], p[2], p[3]);
    }

    /// <inheritdoc />
    public bool Equals(MarketPrices? other) => other is not null && _perUnit.AsSpan().SequenceEqual(other._perUnit);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_perUnit[0], _perUnit[1], _perUnit[2], _perUnit[3]);
}
