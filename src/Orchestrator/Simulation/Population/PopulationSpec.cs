using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Population;

/// <summary>One strategy's weight in a population mix.</summary>
public sealed record StrategyShare(BiddingStrategy Strategy, double Weight);

/// <summary>
/// The distributions a synthetic population is drawn from (the <c>generated</c> population of a scenario file).
/// Defaults give a contested market: heavy-tailed endowments, lognormal task values, and resources roughly like
/// small containers.
/// </summary>
public sealed record PopulationSpec
{
    /// <summary>Endowments in credits; Pareto(200, 1.5) gives a fat tail with a wealth Gini near 1/(2*1.5-1) = 0.5.</summary>
    public Distribution Endowment { get; init; } = Distribution.Pareto(200, 1.5);
    /// <summary>Endowments are capped here so one draw cannot own the economy (100 times the Pareto scale).</summary>
    public double EndowmentCap { get; init; } = 20_000;
    /// <summary>Income per cycle as a fraction of the endowment (a wage proportional to the agent's class).</summary>
    public double IncomeRate { get; init; } = 0.03;
    /// <summary>Value of one task of median size, in credits; bigger jobs are worth more by the square root of their size.</summary>
    public Distribution TaskValue { get; init; } = Distribution.LogNormal(20, 0.75);
    /// <summary>Mean Poisson arrival rate of tasks per agent per cycle, times the agent's <see cref="ArrivalSpread"/> draw.</summary>
    public double ArrivalRate { get; init; } = 0.6;
    /// <summary>Each agent's multiplier on <see cref="ArrivalRate"/>.</summary>
    public Distribution ArrivalSpread { get; init; } = Distribution.Uniform(0.5, 1.5);
    /// <summary>The fraction a shading bidder takes off its value.</summary>
    public Distribution Shade { get; init; } = Distribution.Uniform(0.2, 0.4);
    /// <summary>CPU per task, millicores.</summary>
    public DemandQuantity Cpu { get; init; } = new(Distribution.LogNormal(500, 0.6), 50, 100, 4000);
    /// <summary>Memory per task, MiB.</summary>
    public DemandQuantity Memory { get; init; } = new(Distribution.LogNormal(512, 0.7), 64, 64, 8192);
    /// <summary>LLM tokens per task, for the <see cref="TokenUserShare"/> of agents that use them.</summary>
    public DemandQuantity Tokens { get; init; } = new(Distribution.LogNormal(2000, 0.8), 100, 100, 50_000);
    /// <summary>Human attention per task (basis points), for the few agents that seek it.</summary>
    public DemandQuantity Attention { get; init; } = new(Distribution.LogNormal(500, 0.5), 10, 10, 5_000);
    /// <summary>Share of agents whose tasks use LLM tokens.</summary>
    public double TokenUserShare { get; init; } = 0.6;
    /// <summary>Expected number of agents that ever ask for human attention (the human is one scarce person); at most 10%.</summary>
    public double AttentionSeekers { get; init; } = 40;
    /// <summary>
    /// Each agent's chance that an attempt at a posted task passes (clamped to [0, 1]); drawn from its own seeded stream,
    /// so populations without it draw exactly what they drew before. Null: every agent has <see cref="SyntheticAgent.DefaultSkill"/>.
    /// </summary>
    public Distribution? Skill { get; init; }
    /// <summary>Alternative bundles each agent bids per cycle (XOR); 1 for a single bid.</summary>
    public int Alternatives { get; init; } = 1;
    /// <summary>Mix of strategies; counts are apportioned exactly (largest remainder), then shuffled.</summary>
    public IReadOnlyList<StrategyShare> Mix { get; init; } = DefaultMix;

    public static IReadOnlyList<StrategyShare> DefaultMix { get; } =
    [
        new(BiddingStrategy.Truthful, 0.3),
        new(BiddingStrategy.Shading, 0.2),
        new(BiddingStrategy.Random, 0.1),
        new(BiddingStrategy.BudgetPacing, 0.2),
        new(BiddingStrategy.ZeroIntelligence, 0.2),
    ];
}
