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
        var density = new double[bids.Count];
        for (var i = 0; i < density.Length; i++)
            density[i] = bids.Bids[i].Amount / bids.NormalizedSize[i];
        var order = bids.OrderByDescending(density);

        Span<long> remaining = stackalloc long[PreparedBids.Kinds];
        bids.Supply.CopyTo(remaining);
        var accepted = new List<int>();
        var first = -1;
        foreach (var i in order)
        {
            if (first < 0 && bids.Fits(i, remaining))
            {
                bids.Take(i, remaining);
                accepted.Add(i);
            }
            else if (first < 0)
                first = i;
        }

        var winners = new List<Allocation>(accepted.Count);
        var firstSize = first >= 0 ? ScaledSize(bids, first) : BigInteger.Zero;
        foreach (var i in accepted)
        {
            long payment = 0;
            if (first >= 0)
            {
                var amount = bids.Bids[i].Amount;
                var price = BigInteger.DivRem(bids.Bids[first].Amount * ScaledSize(bids, i), firstSize, out var rest);
                if (rest > 0)
                    price += 1;
                payment = price >= amount ? amount : (long)price;
            }
            winners.Add(bids.Allocate(i, payment));
        }
        List<string> losers = first < 0 ? [] : order.SkipWhile(i => i != first).Select(i => bids.Ids[i]).ToList();
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
