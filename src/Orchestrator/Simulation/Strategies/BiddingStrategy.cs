using CyAgents.Orchestrator.Simulation.Population;

namespace CyAgents.Orchestrator.Simulation.Strategies;

/// <summary>What a strategy may look at when it decides a bid. Everything here is drawn before the decision.</summary>
/// <param name="Value">The agent's true value of this cycle's tasks, in credits.</param>
/// <param name="Available">Credits the agent can still spend (posted minus reserved).</param>
/// <param name="PostedCost">The bundle's cost at this cycle's posted prices.</param>
/// <param name="Uniform">A uniform draw in [0, 1) from the cycle stream, the same under every mechanism.</param>
public readonly record struct BidContext(long Value, long Available, long PostedCost, double Uniform);

/// <summary>
/// How an agent turns its value into a sealed bid. Strategies are stateless singletons; the little state some
/// need (the pacing multiplier) lives on the agent so populations stay plain data.
/// </summary>
public abstract class BiddingStrategy
{
    /// <summary>Name used in scenario mixes, CSV groups and reports.</summary>
    public abstract string Name { get; }

    /// <summary>One line for --help and the report.</summary>
    public abstract string Description { get; }

    /// <summary>The bid in credits before the budget cap (the runner caps it at what is available); 0 to sit out.</summary>
    public abstract long Bid(SyntheticAgent agent, in BidContext context);

    /// <summary>Called after settlement for every agent that bid.</summary>
    public virtual void Observe(SyntheticAgent agent, bool won, long payment) { }

    public static BiddingStrategy Truthful { get; } = new TruthfulStrategy();
    public static BiddingStrategy Shading { get; } = new ShadingStrategy();
    public static BiddingStrategy Random { get; } = new RandomStrategy();
    public static BiddingStrategy BudgetPacing { get; } = new BudgetPacingStrategy();
    public static BiddingStrategy ZeroIntelligence { get; } = new ZeroIntelligenceStrategy();
    public static BiddingStrategy Spawner { get; } = new SpawnerStrategy();
    public static BiddingStrategy Hedge { get; } = new HedgeStrategy();

    /// <summary>Every strategy, in the stable order used by mixes and reports.</summary>
    public static IReadOnlyList<BiddingStrategy> All { get; } = [Truthful, Shading, Random, BudgetPacing, ZeroIntelligence, Spawner, Hedge];

    public static BiddingStrategy? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>Bids its value: the dominant strategy under critical-value.</summary>
public sealed class TruthfulStrategy : BiddingStrategy
{
    public override string Name => "truthful";
    public override string Description => "bids its true value";
    public override long Bid(SyntheticAgent agent, in BidContext context) => context.Value;
}

/// <summary>Bids a fixed fraction below value, the textbook response to paying one's own bid.</summary>
public sealed class ShadingStrategy : BiddingStrategy
{
    public override string Name => "shading";
    public override string Description => "bids its value minus a per-agent shade of 20-40%";
    public override long Bid(SyntheticAgent agent, in BidContext context) => (long)Math.Floor(context.Value * (1 - agent.Shade));
}

/// <summary>A noise trader: anywhere from 1 credit to twice its value.</summary>
public sealed class RandomStrategy : BiddingStrategy
{
    public override string Name => "random";
    public override string Description => "bids uniformly between 1 credit and twice its value";
    public override long Bid(SyntheticAgent agent, in BidContext context) => 1 + (long)Math.Floor(context.Uniform * 2 * context.Value);
}

/// <summary>
/// Gode and Sunder's budget-constrained zero-intelligence trader (ZI-C): uniform between 1 and its value,
/// never above it. Markets of such traders are known to reach high efficiency by structure alone.
/// </summary>
public sealed class ZeroIntelligenceStrategy : BiddingStrategy
{
    public override string Name => "zero-intelligence";
    public override string Description => "bids uniformly between 1 credit and its value (Gode-Sunder ZI-C)";
    public override long Bid(SyntheticAgent agent, in BidContext context) => 1 + (long)Math.Floor(context.Uniform * context.Value);
}

/// <summary>
/// Budget pacing as ad exchanges do it: bid value times a multiplier that falls when a cycle's spending
/// exceeds the per-cycle income and recovers when it stays below, so spending tracks income.
/// </summary>
public sealed class BudgetPacingStrategy : BiddingStrategy
{
    private const double Gain = 0.2;
    private const double MinimumPace = 0.05;

    public override string Name => "budget-pacing";
    public override string Description => "bids value times a multiplier that keeps spending near its income";
    public override long Bid(SyntheticAgent agent, in BidContext context) => (long)Math.Floor(context.Value * agent.Pace);

    public override void Observe(SyntheticAgent agent, bool won, long payment)
    {
        var target = Math.Max(1, agent.Income);
        var error = Math.Clamp((target - (double)payment) / target, -1, 1);
        agent.Pace = Math.Clamp(agent.Pace * Math.Exp(Gain * error), MinimumPace, 1.0);
    }
}

/// <summary>
/// Truthful, but at the scenario's spawn cycle splits into children (a sybil attack): the family shares the
/// parent's credits, demand and value equally, each member bidding for its slice under its own identity.
/// </summary>
public sealed class SpawnerStrategy : BiddingStrategy
{
    public override string Name => "spawner";
    public override string Description => "truthful; splits into child identities at the spawn cycle (sybil attack)";
    public override long Bid(SyntheticAgent agent, in BidContext context) => context.Value;
}
