using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>What one cycle of one run looked like; one CSV row.</summary>
public sealed record CycleMetrics
{
    public required int Cycle { get; init; }
    public required int Agents { get; init; }
    /// <summary>Agents that bid this cycle.</summary>
    public required int ActiveAgents { get; init; }
    public required int Winners { get; init; }
    /// <summary>Posted price per kind during the cycle (credits per unit), in <see cref="ResourceKinds.All"/> order.</summary>
    public required double[] Prices { get; init; }
    /// <summary>Allocated over supply per kind.</summary>
    public required double[] Utilization { get; init; }
    /// <summary>Bid-for quantity over supply per kind (excess demand when above 1).</summary>
    public required double[] DemandRatio { get; init; }
    /// <summary>Sum of the winners' true values (not their bids).</summary>
    public required long Welfare { get; init; }
    /// <summary>
    /// Welfare over the optimal welfare of the same bids at true values (<see cref="EfficiencyBasis.Exact"/>), or over
    /// the upper bound on it (<see cref="EfficiencyBasis.Bound"/>, a lower bound on efficiency); null without bids.
    /// </summary>
    public required double? Efficiency { get; init; }
    /// <summary>What <see cref="Efficiency"/> was measured against; null without bids.</summary>
    public EfficiencyBasis? EfficiencyBasis { get; init; }
    /// <summary>The Lagrangian (LP) upper bound on the optimal welfare at true values; null without bids.</summary>
    public long? WelfareBound { get; init; }
    /// <summary>The exact optimal welfare at true values, when the cycle was small enough to solve; else null.</summary>
    public long? OptimalWelfare { get; init; }
    public required long Revenue { get; init; }
    /// <summary>Gini of agents' posted balances after settlement.</summary>
    public required double WealthGini { get; init; }
    /// <summary>Jain's index over the resources each agent has received so far.</summary>
    public required double Jain { get; init; }
    /// <summary>Agents whose current run of lost bids is at least the starvation threshold.</summary>
    public required int Starving { get; init; }
    /// <summary>Agents with nothing left to spend after settlement.</summary>
    public required int Bankrupt { get; init; }
    /// <summary>Gifts that moved this cycle (boltzmann).</summary>
    public required int Gifts { get; init; }
    /// <summary>Credits the treasury has issued net of what came back.</summary>
    public required long TreasuryIssued { get; init; }
    /// <summary>The ledger's conservation check after the cycle.</summary>
    public required bool Conserved { get; init; }
    /// <summary>The task board's cycle (ADR 0142); null when the scenario has no tasks.</summary>
    public TaskCycleMetrics? Tasks { get; init; }
    /// <summary>Alternative bids placed this cycle besides the main ones (ADR 0143); null when no agent bids alternatives.</summary>
    public int? AlternativeBids { get; init; }
    /// <summary>Alternative bids that won this cycle; null when no agent bids alternatives.</summary>
    public int? AlternativeWins { get; init; }
}

/// <summary>The yardstick of a cycle's efficiency.</summary>
public enum EfficiencyBasis
{
    /// <summary>The exact optimum (<c>optimal</c>), for cycles with at most the scenario's optimal-bid limit.</summary>
    Exact,
    /// <summary>The Lagrangian (LP) upper bound on the optimum: efficiency against it never overstates the true one.</summary>
    Bound,
}

/// <summary>One (variant, mechanism) run.</summary>
public sealed record RunResult(
    string Scenario,
    string Variant,
    string Mechanism,
    int Seed,
    ResourceBundle Supply,
    IReadOnlyList<CycleMetrics> Cycles,
    IReadOnlyList<SyntheticAgent> Agents,
    IReadOnlyList<long> FinalWealth,
    RunTiming Timing)
{
    /// <summary>Label used in charts and file names: the mechanism, prefixed by the variant when there are several.</summary>
    public string Label(bool withVariant) => withVariant ? $"{Variant}/{Mechanism}" : Mechanism;

    /// <summary>
    /// How much an adaptive (hedge) agent gains over a truthful one: the mean over hedge agents of utility over the value
    /// of the tasks they bid for, minus the same for truthful agents. A share of value, so agents of different sizes
    /// compare: 0.1 means a learner keeps 10 points more of its tasks' value than a truthful bidder. Null unless the
    /// population has both (and they bid).
    /// </summary>
    public double? AdaptiveGain()
    {
        static List<double> Kept(IEnumerable<SyntheticAgent> agents) =>
            agents.Where(a => a.ValueBidFor > 0).Select(a => (double)a.Utility / a.ValueBidFor).ToList();
        var hedge = Kept(Agents.Where(a => a.Strategy == BiddingStrategy.Hedge));
        var truthful = Kept(Agents.Where(a => a.Strategy == BiddingStrategy.Truthful));
        return hedge.Count == 0 || truthful.Count == 0 ? null : hedge.Average() - truthful.Average();
    }

    /// <summary>The hedge agents' mean learned shade (expected shading factor of their weights); null without any.</summary>
    public double? LearnedShade()
    {
        var learners = Agents.Where(a => a.Learner is not null).Select(a => a.Learner!.LearnedShade).ToList();
        return learners.Count == 0 ? null : learners.Average();
    }
}

/// <summary>How long a run took; never written to the deterministic outputs.</summary>
public sealed record RunTiming(TimeSpan Elapsed, long AgentCycles)
{
    public double AgentCyclesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : AgentCycles / Elapsed.TotalSeconds;
}
