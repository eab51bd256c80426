using System.Globalization;
using System.Numerics;
using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>
/// Posted unit prices, in credits per unit of each resource kind for one cycle.
/// Prices are real numbers (they move smoothly under the pricing rule); anything charged from them
/// is rounded up to whole credits by <see cref="CostOf"/>, so the ledger only ever sees integers.
/// Rounding rule (ADR 0121): each price counts at its shortest round-trip decimal value, the number as printed
/// (0.1 is one tenth, not the binary double nearest it); the cost of a bundle is the sum of price times quantity
/// computed exactly, then rounded up to whole credits. No tolerance: a cost of 1.0000000001 is 2 credits.
/// </summary>
public sealed record MarketPrices
{
    private readonly double[] _perUnit;
    /// <summary>The prices as integers over 10^<see cref="_scale"/>, when they fit the 128-bit fast path.</summary>
    private readonly Int128[]? _scaled;
    /// <summary>The same, when every scaled price also fits 64 bits (most prices): each product is one multiplication.</summary>
    private readonly ulong[]? _scaled64;
    private readonly BigInteger[] _bigScaled;
    private readonly int _scale;
    private readonly Int128 _unit;
    private readonly double _unitAsDouble;

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
        (_bigScaled, _scale) = Decimals(_perUnit);
        // 10^25 * 10^12 (the largest quantity) * 4 kinds < 2^127: then every cost fits 128 bits.
        var limit = BigInteger.Pow(10, 25);
        if (_scale <= 25 && _bigScaled.All(p => p < limit))
        {
            _scaled = _bigScaled.Select(p => (Int128)p).ToArray();
            _unit = (Int128)BigInteger.Pow(10, _scale);
            _unitAsDouble = (double)_unit;
            if (_bigScaled.All(p => p <= ulong.MaxValue))
                _scaled64 = _bigScaled.Select(p => (ulong)p).ToArray();
        }
    }

    /// <summary>Each price as an integer over one common power of ten, read from its shortest round-trip decimal.</summary>
    private static (BigInteger[] Scaled, int Scale) Decimals(double[] prices)
    {
        var digits = new BigInteger[prices.Length];
        var places = new int[prices.Length];
        for (var i = 0; i < prices.Length; i++)
        {
            // "R" gives the shortest string that parses back to the same double, e.g. "0.1" or "1.2345E-05".
            var text = prices[i].ToString("R", CultureInfo.InvariantCulture);
            var exponent = 0;
            var e = text.IndexOfAny(['E', 'e']);
            if (e >= 0)
            {
                exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                text = text[..e];
            }
            var dot = text.IndexOf('.');
            var fraction = dot < 0 ? 0 : text.Length - dot - 1;
            digits[i] = BigInteger.Parse(dot < 0 ? text : text.Remove(dot, 1), CultureInfo.InvariantCulture);
            places[i] = fraction - exponent;
            if (places[i] < 0)
            {
                digits[i] *= BigInteger.Pow(10, -places[i]);
                places[i] = 0;
            }
        }
        var scale = places.Max();
        for (var i = 0; i < prices.Length; i++)
            digits[i] *= BigInteger.Pow(10, scale - places[i]);
        return (digits, scale);
    }

    /// <summary>All prices zero (every bid covers the posted cost).</summary>
    public static MarketPrices Zero { get; } = new(0, 0, 0, 0);

    /// <summary>Price of one unit of <paramref name="kind"/>, in credits.</summary>
    public double this[ResourceKind kind] => _perUnit[(int)kind];

    /// <summary>
    /// The posted cost of a bundle: the exact sum of price times quantity (prices at their decimal value), rounded up
    /// to whole credits, so it never undercharges; saturates at <see cref="long.MaxValue"/> for absurd prices.
    /// </summary>
    public long CostOf(ResourceBundle bundle) =>
        CostOfQuantities(bundle.CpuMillicores, bundle.MemoryMiB, bundle.Tokens, bundle.AttentionBasisPoints);

    /// <summary>The same from the quantities (the clearing reads them from its flat arrays, not from the bids).</summary>
    internal long CostOfQuantities(long cpu, long memory, long tokens, long attention)
    {
        if (_scaled64 is { } w && (cpu | memory | tokens | attention) >= 0)
        {
            // The simulator asks for 10,000 costs a cycle and posted-price for every bid: four 64 x 64-bit products
            // (each below 2^104, their sum below 2^106) instead of 128-bit ones, and the quotient estimated from the two
            // halves. Its relative error stays under 2^-50, so below 2^48 its floor is the true floor or one less and
            // never above the ceiling, as on the path below; then step up while the exact product falls short.
            var total = Math.BigMul(w[0], (ulong)cpu) + Math.BigMul(w[1], (ulong)memory)
                + Math.BigMul(w[2], (ulong)tokens) + Math.BigMul(w[3], (ulong)attention);
            var estimate = Math.Floor(((double)(ulong)(total >> 64) * 18446744073709551616.0 + (ulong)total) / _unitAsDouble);
            if (estimate < 1L << 48)
            {
                var one = (UInt128)_unit;
                var cost = (ulong)estimate;
                var covered = cost * one;
                while (covered < total)
                {
                    cost++;
                    covered += one;
                }
                return (long)cost;
            }
        }
        if (_scaled is { } p)
        {
            // Spelled out rather than looping over ResourceKinds.All: posted-price calls this for every bid.
            var total = p[0] * cpu + p[1] * memory + p[2] * tokens + p[3] * attention;
            // A 128-bit division is a slow software loop, and posted-price asks for every bid's cost (ADR 0145). Below
            // 2^48 the floating-point quotient's floor is the true floor or one less (a few ulps of error stay under
            // one, and an exact quotient is never rounded up past a whole number), so it never exceeds the ceiling:
            // step up, at most twice, to the first whole number whose exact product covers the total.
            var estimate = Math.Floor((double)total / _unitAsDouble);
            if (estimate < 1L << 48)
            {
                var x = (UInt128)total;
                var one = (UInt128)_unit;
                var cost = (ulong)estimate;
                while (cost * one < x)
                    cost++;
                return (long)cost;
            }
            var (whole, rest) = Int128.DivRem(total, _unit);
            if (rest > 0)
                whole++;
            return whole > long.MaxValue ? long.MaxValue : (long)whole;
        }
        var big = _bigScaled[0] * cpu + _bigScaled[1] * memory + _bigScaled[2] * tokens + _bigScaled[3] * attention;
        var unit = BigInteger.Pow(10, _scale);
        var ceiling = BigInteger.DivRem(big, unit, out var remainder) + (remainder > 0 ? 1 : 0);
        return ceiling > long.MaxValue ? long.MaxValue : (long)ceiling;
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
