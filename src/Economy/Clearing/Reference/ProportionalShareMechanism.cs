using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Clearing.Reference;

/// <summary>
/// <c>proportional</c>: proportional share for divisible kinds, as in Tycoon (Lai et al., 2005). In every kind the
/// supply is split in proportion to the amounts of the bids that ask for it, so kind k has the price
/// <c>p_k = B_k / S_k</c> credits per unit (B_k: the amounts bidding for k). A bundle is only useful in its own
/// proportions, so a bid receives one fraction of its whole bundle, the smallest of its shares over the kinds it asks
/// for: <c>f = min(1, min_k b·S_k / (B_k·q_k))</c>, and is granted <c>floor(f·q_k)</c> of each kind. It pays for what
/// it receives at its binding kind's price, <c>min(b, ceil(max_k p_k·q_k))</c>: its bid when the share falls short of
/// its bundle, less when its share covers the whole bundle.
/// </summary>
/// <remarks>
/// A grant below <see cref="MinimumGrant"/> (or below the request, where that is smaller) in any kind the bid asks for
/// is useless to a sandbox (a cap of 0 means "no cap" to the engine), so such a bid loses and pays nothing. The grants
/// are scaled bundles: <see cref="Allocation.Bundle"/> is the grant, not the bundle bid for, and
/// <see cref="ClearingResult.Welfare"/> still counts whole amounts. One pass, no redistribution: capacity a capped or
/// losing bid leaves is not handed to the others. Feasible by construction, <c>Σ_i floor(f_i q_ik) ≤ S_k·Σ_i b_i/B_k
/// = S_k</c>; every quantity is a whole number computed exactly in 128 bits. Not truthful (a bidder trades share for
/// price; the Tycoon equilibrium is a Nash, not a dominant-strategy, outcome). O(n).
/// </remarks>
/// <param name="minimumGrant">The smallest useful grant per kind; null: one unit of every kind asked for.</param>
public sealed class ProportionalShareMechanism(ResourceBundle? minimumGrant = null) : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "proportional";

    private const int K = PreparedBids.Kinds;

    /// <summary>The smallest grant per kind a winner receives in every kind it asks for (at most what it asked).</summary>
    public ResourceBundle MinimumGrant { get; } = minimumGrant ?? ResourceBundle.Create(1, 1, 1, 1);

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var n = bids.Count;
        var q = bids.Quantity;
        var supply = bids.Supply;
        long[] minimum = [MinimumGrant.CpuMillicores, MinimumGrant.MemoryMiB, MinimumGrant.Tokens, MinimumGrant.AttentionBasisPoints];
        var bidding = new Int128[K];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < K; k++)
            {
                if (q[i * K + k] > 0)
                    bidding[k] += bids.Bids[i].Amount;
            }
        }

        Span<long> remaining = stackalloc long[K];
        supply.CopyTo(remaining);
        Span<long> grant = stackalloc long[K];
        var winners = new List<Allocation>();
        var losers = new List<string>(n);
        foreach (var i in bids.OrderById())
        {
            var amount = bids.Bids[i].Amount;
            var useful = true;
            Int128 price = 0;
            for (var k = 0; k < K; k++)
            {
                var asked = q[i * K + k];
                grant[k] = asked;
                if (asked == 0)
                    continue;
                // floor(q_k · f) = the smallest over binding kinds m of floor(q_k · b · S_m / (B_m · q_m)), capped at q_k.
                for (var m = 0; m < K; m++)
                {
                    var qm = q[i * K + m];
                    if (qm == 0)
                        continue;
                    var share = (Int128)asked * amount * supply[m] / (bidding[m] * qm);
                    if (share < grant[k])
                        grant[k] = (long)share;
                }
                useful &= grant[k] >= Math.Min(minimum[k], asked);
                // ceil(B_k · q_k / S_k): the full bundle's cost at kind k's price.
                var cost = (bidding[k] * asked + supply[k] - 1) / supply[k];
                if (cost > price)
                    price = cost;
            }
            if (!useful)
            {
                losers.Add(bids.Ids[i]);
                continue;
            }
            for (var k = 0; k < K; k++)
                remaining[k] -= grant[k];
            var b = bids.Bids[i];
            winners.Add(new Allocation(b.Id, b.AgentId,
                ResourceBundle.Create(grant[0], grant[1], grant[2], grant[3]), amount, (long)Int128.Min(amount, price)));
        }
        return bids.Result(Name, winners, losers, remaining);
    }
}
