using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Population;

/// <summary>One strategy's weight in a population mix.</summary>
public sealed record StrategyShare(BiddingStrategy Strategy, double Weight);

/// <summary>
/// The distributions a synthetic population is drawn from. Defaults give a contested market: heavy-tailed
/// endowments, lognormal task values, and resources roughly like small containers.
/// </summary>
public sealed record PopulationSpec
{
    /// <summary>Pareto scale (the smallest endowment) in credits.</summary>
    public double EndowmentScale { get; init; } = 200;
    /// <summary>Pareto shape; 1.5 gives a fat tail with a wealth Gini near 1/(2*1.5-1) = 0.5.</summary>
    public double EndowmentShape { get; init; } = 1.5;
    /// <summary>Endowments are capped at this many times the scale so one draw cannot own the economy.</summary>
    public double EndowmentCapMultiple { get; init; } = 100;
    /// <summary>Income per cycle as a fraction of the endowment (a wage proportional to the agent's class).</summary>
    public double IncomeRate { get; init; } = 0.03;
    /// <summary>Median value of one task, in credits (lognormal).</summary>
    public double MedianTaskValue { get; init; } = 20;
    /// <summary>Log-scale spread of task values across agents.</summary>
    public double ValueSigma { get; init; } = 0.75;
    /// <summary>Mean Poisson arrival rate of tasks per agent per cycle; each agent's rate is uniform in [0.5, 1.5] times this.</summary>
    public double ArrivalRate { get; init; } = 0.6;
    /// <summary>Share of agents whose tasks use LLM tokens.</summary>
    public double TokenUserShare { get; init; } = 0.6;
    /// <summary>Expected number of agents that ever ask for human attention (the human is one scarce person).</summary>
    public double AttentionSeekers { get; init; } = 40;
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
