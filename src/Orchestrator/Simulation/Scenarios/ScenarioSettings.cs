using CyAgents.Economy.Attention;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>When and how spawner agents split (the sybil attack).</summary>
/// <param name="Cycle">The cycle at whose start spawners split.</param>
/// <param name="Children">Children per spawner; the family then has Children + 1 identities.</param>
/// <param name="Fee">Credits each spawn pays the treasury (SpawnFee).</param>
public sealed record SpawnPlan(int Cycle, int Children, long Fee);

/// <summary>
/// Every knob the runner reads. A scenario is a named set of these plus the check of its known answer.
/// </summary>
public sealed record ScenarioSettings
{
    /// <summary>Builds a fresh population (agents are mutable, so every run gets its own).</summary>
    public required Func<int, int, IReadOnlyList<SyntheticAgent>> Populate { get; init; }

    /// <summary>False for scenarios where no one bids (boltzmann): cycles only move gifts.</summary>
    public bool MarketOpen { get; init; } = true;

    /// <summary>Supply per kind as a fraction of the population's expected demand at zero prices.</summary>
    public double SupplyRatio { get; init; } = 0.6;

    /// <summary>A fixed supply instead of one derived from demand (hand-built known-answer instances).</summary>
    public ResourceBundle? FixedSupply { get; init; }

    /// <summary>Prices to start from; null calibrates them so supply costs half the expected value of demand.</summary>
    public MarketPrices? InitialPrices { get; init; }

    /// <summary>The market's pricing rule parameters (only the dynamics are used; initial prices come from above).</summary>
    public PricingOptions Pricing { get; init; } = new();

    /// <summary>False holds prices at <see cref="InitialPrices"/> (instances where prices are not the question).</summary>
    public bool PricingEnabled { get; init; } = true;

    /// <summary>Treasury income every cycle (off for boltzmann, where the money stock must stay fixed).</summary>
    public bool IncomeEnabled { get; init; } = true;

    /// <summary>Multiplier on arrival rates per (cycle, total cycles): the demand shock.</summary>
    public Func<int, int, double> DemandMultiplier { get; init; } = static (_, _) => 1.0;

    /// <summary>Random pairwise gifts per agent per cycle (boltzmann), each of <see cref="GiftAmount"/> credits.</summary>
    public double GiftsPerAgent { get; init; }

    public long GiftAmount { get; init; }

    /// <summary>Set to make spawner agents split; null means spawners stay single.</summary>
    public SpawnPlan? Spawn { get; init; }

    /// <summary>Cycles with at most this many bids also run <c>optimal</c>, to report efficiency.</summary>
    public int OptimalBidLimit { get; init; } = 20;

    /// <summary>Reserve prices for first-price and critical-value (scenario field <c>market.reserve</c>).</summary>
    public ReserveRule Reserve { get; init; } = ReserveRule.None;

    /// <summary>The operator's task feed (scenario field <c>market.tasks</c>); null: no tasks, the economy only spends.</summary>
    public TaskFeed? Tasks { get; init; }

    /// <summary>What a prompt costs of the human's attention (scenario field <c>market.attention</c>), for reviewed tasks.</summary>
    public PromptAttention Attention { get; init; } = PromptAttention.Default;
}

/// <summary>One population size / configuration of a scenario; each is run under every mechanism.</summary>
/// <param name="Name">Short label used in file names and charts (e.g. n10000, honest, sybil).</param>
/// <param name="Agents">Agents drawn before any spawning.</param>
/// <param name="Settings">The knobs.</param>
public sealed record SimulationVariant(string Name, int Agents, ScenarioSettings Settings);
