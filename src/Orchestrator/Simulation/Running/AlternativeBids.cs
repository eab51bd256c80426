using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>
/// The alternative bids of synthetic agents (ADR 0143): an agent with k alternatives bids, besides its full bundle, the
/// bundles of (k − a)/k of it for a = 1 … k − 1 (each kind rounded up). A smaller bundle does the same work more slowly,
/// so it is worth less than proportionally less: the agent's own value scales with the square root of the share, and a
/// task from the board counts in full wherever the bundle can pay the task's review. The clearing treats one agent's bids
/// as alternatives (<see cref="ClearingInput.OneWinPerAgent"/>), so at most one of them wins.
/// </summary>
/// <remarks>
/// Every alternative is escrowed like the main bid (its own pending transfer), and the escrows of one agent together never
/// exceed what it can spend: alternatives are bid from what the main bid left, smallest share last.
/// </remarks>
internal sealed class AlternativeBids
{
    private readonly List<Bid> _bids = [];
    private readonly List<long> _values = [];
    private readonly List<int> _holds = [];
    private readonly Dictionary<string, int> _byBid = new(StringComparer.Ordinal);

    /// <summary>This cycle's alternative bids (the main bids are the runner's).</summary>
    public IReadOnlyList<Bid> Bids => _bids;

    /// <summary>Alternatives that won last cycle.</summary>
    public int Wins { get; private set; }

    public void Clear()
    {
        _bids.Clear();
        _values.Clear();
        _holds.Clear();
        _byBid.Clear();
        Wins = 0;
    }

    /// <summary>
    /// Adds agent's alternatives to its main bid for <paramref name="bundle"/>, each for what its strategy says at its own
    /// value and posted cost, from the <paramref name="remaining"/> credits the main bid's escrow left. Each alternative's
    /// escrow is added to <paramref name="holds"/> (from the agent's <paramref name="account"/> to <paramref name="escrow"/>).
    /// </summary>
    public void Add(SyntheticAgent agent, string cycleText, ResourceBundle bundle, long ownValue,
        Func<ResourceBundle, long> taskValue, long remaining, MarketPrices prices, double uniform,
        List<Posting> holds, LedgerAccountHandle account, LedgerAccountHandle escrow)
    {
        var k = agent.Alternatives;
        for (var a = 1; a < k && remaining >= 1; a++)
        {
            var share = k - a;
            var alternative = ResourceBundle.Create(Part(bundle.CpuMillicores, share, k), Part(bundle.MemoryMiB, share, k),
                Part(bundle.Tokens, share, k), Part(bundle.AttentionBasisPoints, share, k));
            var own = ownValue > 0 ? Math.Max(1, (long)Math.Round(ownValue * Math.Sqrt((double)share / k))) : 0;
            var value = own + taskValue(alternative);
            var cost = prices.CostOf(alternative);
            if (value < 1 || value < cost)
                continue;
            var amount = Math.Min(remaining, agent.Strategy.Bid(agent, new BidContext(value, remaining, cost, uniform)));
            if (amount < 1)
                continue;
            remaining -= amount;
            var bid = new Bid(string.Concat(cycleText, ":", agent.Id, ":x", a.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                agent.Id, alternative, amount);
            _byBid[bid.Id] = _bids.Count;
            _bids.Add(bid);
            _values.Add(value);
            _holds.Add(holds.Count);
            holds.Add(new Posting(account, escrow, amount));
        }
    }

    /// <summary>
    /// When the winning <paramref name="bidId"/> is an alternative: counts the win; gives the bundle it asked for, its true
    /// value and the index of its escrow among the cycle's holds.
    /// </summary>
    public bool TryWinner(string bidId, out ResourceBundle bundle, out long value, out int hold)
    {
        if (_byBid.TryGetValue(bidId, out var at))
        {
            bundle = _bids[at].Bundle;
            value = _values[at];
            hold = _holds[at];
            Wins++;
            return true;
        }
        bundle = ResourceBundle.Zero;
        value = 0;
        hold = -1;
        return false;
    }

    /// <summary>The alternatives at their true values, for the efficiency yardsticks.</summary>
    public IEnumerable<Bid> AtTrueValues() => _bids.Select((bid, i) => bid with { Amount = _values[i] });

    private static long Part(long quantity, long share, long of) => (quantity * share + of - 1) / of;
}
