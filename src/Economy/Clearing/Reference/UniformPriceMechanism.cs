using System.Numerics;

namespace CyAgents.Economy.Clearing.Reference;

/// <summary>
/// <c>uniform-price</c>: a uniform-price multi-unit auction with one price per unit of normalized size (the bundle's
/// share of the supply, Σ_k q_k / S_k, so kind k costs P / S_k per unit). Bids are ranked by amount per unit of size,
/// as in first-price, and accepted in that order until the first bid that does not fit; that bid and every later one
/// lose. The clearing price P is the highest rejected bid per unit, the first loser's amount / size, and every winner
/// pays P × its size, rounded up to whole credits and never above its bid; with no loser the price is 0.
/// </summary>
/// <remarks>
/// For one kind and bids of one unit each this is the (k+1)-th price auction, truthful for unit demand. With demand for
/// several units a bidder can lower the price by asking for less (demand reduction), and stopping at the first bid
/// that does not fit leaves capacity a smaller later bid could have used; both are the classic limits of the format.
/// Winners are decided by the very ranking first-price uses (ties by bid id). Payments are exact: sizes are compared
/// as whole numbers, Σ_k q_k·Π_{l≠k} S_l (the size times the product of the supplies), so
/// <c>ceil(a_first · size_i / size_first)</c> is computed without rounding and clamped to the bid. O(n log n).
/// </remarks>
public sealed class UniformPriceMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "uniform-price";

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        using var densities = new Scratch<double>(n);
        var density = densities.Array;
        for (var i = 0; i < n; i++)
            density[i] = bids.Amount[i] / bids.NormalizedSize[i];
        using var ordered = new Scratch<int>(n);
        var order = ordered.Span;
        bids.OrderByDescending(density, order);

        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var accepted = new List<int>();
        var first = -1;
        var firstAt = n;
        for (var p = 0; p < n && first < 0; p++)
        {
            var i = order[p];
            if (bids.Fits(i, remaining))
            {
                bids.Take(i, remaining);
                accepted.Add(i);
            }
            else
                (first, firstAt) = (i, p);
        }

        var winners = new List<Allocation>(accepted.Count);
        // Sizes in any common unit give the same price: the exact numerators over the supplies' lcm when they fit
        // 64 bits (a 128-bit product and quotient, ADR 0145), else the size times the supplies' product, unbounded.
        var firstNumerator = first >= 0 ? bids.SizeNumerator(first) : null;
        var firstSize = first >= 0 && firstNumerator is null ? ScaledSize(bids, first) : BigInteger.Zero;
        foreach (var i in accepted)
        {
            long payment = 0;
            if (first >= 0)
            {
                var amount = bids.Amount[i];
                if (firstNumerator is { } denominator)
                {
                    var product = (UInt128)(ulong)bids.Amount[first] * (ulong)bids.SizeNumerator(i)!.Value;
                    var (price, rest) = UInt128.DivRem(product, (ulong)denominator);
                    if (rest > 0)
                        price += 1;
                    payment = price >= (ulong)amount ? amount : (long)price;
                }
                else
                {
                    var price = BigInteger.DivRem(bids.Amount[first] * ScaledSize(bids, i), firstSize, out var rest);
                    if (rest > 0)
                        price += 1;
                    payment = price >= amount ? amount : (long)price;
                }
            }
            winners.Add(bids.Allocate(i, payment));
        }
        var losers = new List<string>(n - firstAt);
        for (var p = firstAt; p < n; p++)
            losers.Add(bids.Ids[order[p]]);
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>The normalized size times the product of the supplies (kinds with supply only): a whole number.</summary>
    private static BigInteger ScaledSize(PreparedBids bids, int i)
    {
        var size = BigInteger.Zero;
        for (var k = 0; k < PreparedBids.Kinds; k++)
        {
            if (bids.Supply[k] == 0 || bids.Quantity[i * PreparedBids.Kinds + k] == 0)
                continue;
            BigInteger term = bids.Quantity[i * PreparedBids.Kinds + k];
            for (var l = 0; l < PreparedBids.Kinds; l++)
            {
                if (l != k && bids.Supply[l] > 0)
                    term *= bids.Supply[l];
            }
            size += term;
        }
        return size;
    }
}
