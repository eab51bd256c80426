namespace CyAgents.Economy.Clearing.Reference;

/// <summary>
/// <c>drf</c>: Dominant Resource Fairness (Ghodsi et al., 2011) by progressive filling. An agent's bids are its tasks,
/// not alternatives. A task is eligible when its amount covers the bundle's posted cost; among eligible tasks the agent
/// with the smallest dominant share (the largest share of the supply it holds in any one kind) gets its next task,
/// then the next smallest, and so on; an agent whose next task no longer fits is finished, as in DRF. Each granted
/// task pays the bundle's posted cost. DRF is an allocation rule, not a payment rule: the posted price decides who may
/// take part and what a task costs, the bid only whether the agent is willing to pay that.
/// </summary>
/// <remarks>
/// Dominant shares are compared exactly, as fractions of whole quantities (used_k / S_k, cross-multiplied in 128 bits);
/// equal shares go to the smaller agent id (ordinal), an agent's tasks are taken in ordinal bid-id order, so the result
/// does not depend on the order bids arrive in. DRF is Pareto efficient among the agents' task vectors, envy-free,
/// strategy-proof in the demand vector and gives every agent at least what an equal split would; it ignores
/// amounts beyond the price check, so it does not maximize welfare. O(n log a) for n tasks and a agents.
/// </remarks>
public sealed class DrfMechanism : IClearingMechanism
{
    /// <summary>The registry name.</summary>
    public const string MechanismName = "drf";

    private const int K = PreparedBids.Kinds;

    /// <inheritdoc />
    public string Name => MechanismName;

    /// <inheritdoc />
    public ClearingResult Clear(ClearingInput input)
    {
        using var bids = PreparedBids.From(input);
        var cost = new long[bids.Count];
        var tasks = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var losers = new List<string>(bids.Count);
        foreach (var i in bids.OrderById())
        {
            var bid = bids.Bids[i];
            cost[i] = input.Prices.CostOf(bid.Bundle);
            if (bid.Amount < cost[i])
            {
                losers.Add(bids.Ids[i]);
                continue;
            }
            if (!tasks.TryGetValue(bid.AgentId, out var list))
                tasks[bid.AgentId] = list = [];
            list.Add(i);
        }

        var agents = tasks.Keys.Order(StringComparer.Ordinal).ToArray();
        var used = new long[agents.Length * K];
        var next = new int[agents.Length];
        var queue = new PriorityQueue<int, int>(new DominantShareOrder(used, bids.Supply, agents));
        for (var a = 0; a < agents.Length; a++)
            queue.Enqueue(a, a);

        Span<long> remaining = stackalloc long[K];
        bids.Supply.CopyTo(remaining);
        var winners = new List<Allocation>();
        while (queue.TryDequeue(out var a, out _))
        {
            var own = tasks[agents[a]];
            var i = own[next[a]];
            if (!bids.Fits(i, remaining))
            {
                // The agent is finished: this task and its later ones lose.
                for (var t = next[a]; t < own.Count; t++)
                    losers.Add(bids.Ids[own[t]]);
                continue;
            }
            bids.Take(i, remaining);
            for (var k = 0; k < K; k++)
                used[a * K + k] += bids.Quantity[i * K + k];
            winners.Add(bids.Allocate(i, cost[i]));
            if (++next[a] < own.Count)
                queue.Enqueue(a, a);
        }
        return bids.Result(Name, winners, losers, remaining);
    }

    /// <summary>Smallest dominant share first (exact fractions), then the smaller agent id.</summary>
    private sealed class DominantShareOrder(long[] used, long[] supply, string[] agents) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var (na, da) = Dominant(a);
            var (nb, db) = Dominant(b);
            var order = ((Int128)na * db).CompareTo((Int128)nb * da);
            return order != 0 ? order : string.CompareOrdinal(agents[a], agents[b]);
        }

        /// <summary>The largest used_k / S_k as a fraction (0/1 when nothing is used).</summary>
        private (long Numerator, long Denominator) Dominant(int agent)
        {
            long n = 0, d = 1;
            for (var k = 0; k < K; k++)
            {
                if (supply[k] > 0 && (Int128)used[agent * K + k] * d > (Int128)n * supply[k])
                    (n, d) = (used[agent * K + k], supply[k]);
            }
            return (n, d);
        }
    }
}
