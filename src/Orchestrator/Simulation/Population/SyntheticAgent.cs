using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Population;

/// <summary>
/// One in-process agent of a simulation: its fixed type (demand, value, arrival rate, income, strategy)
/// and the running tallies the metrics need. Its credits live only in the ledger, never here.
/// </summary>
public sealed class SyntheticAgent
{
    public SyntheticAgent(int index, string id, string name, string group, BiddingStrategy strategy,
        ResourceBundle demand, double baseValue, double arrivalRate, long endowment, long income)
    {
        Index = index;
        Id = id;
        Name = name;
        Group = group;
        Strategy = strategy;
        Demand = demand;
        BaseValue = baseValue;
        ArrivalRate = arrivalRate;
        Endowment = endowment;
        Income = income;
        AccountId = AccountIds.ForAgent(id);
        FamilyRoot = index;
    }

    /// <summary>Position in the population; children are appended after every root agent.</summary>
    public int Index { get; }
    /// <summary>Stable id (a000042, or a000042.c1 for a spawned child): bid ids and tie-breaks derive from it.</summary>
    public string Id { get; }
    /// <summary>Display name drawn by Bogus.</summary>
    public string Name { get; }
    /// <summary>The scenario's label for the agent's class (strategy, bid level, spawner or not).</summary>
    public string Group { get; }
    public BiddingStrategy Strategy { get; internal set; }
    public string AccountId { get; }

    /// <summary>The bundle one task needs; a cycle with k arrivals asks for k times this bundle.</summary>
    public ResourceBundle Demand { get; internal set; }
    /// <summary>Median value in credits of one task to this agent.</summary>
    public double BaseValue { get; internal set; }
    /// <summary>Mean number of tasks arriving per cycle (Poisson).</summary>
    public double ArrivalRate { get; }
    public long Endowment { get; }
    /// <summary>Hand-built agents have exactly one task of exactly <see cref="BaseValue"/> every cycle (no draws).</summary>
    public bool FixedTask { get; init; }
    /// <summary>Credits the treasury pays this agent every cycle.</summary>
    public long Income { get; internal set; }

    /// <summary>Index of the agent whose family this is (itself for every agent that was not spawned).</summary>
    public int FamilyRoot { get; internal set; }
    public bool IsChild => FamilyRoot != Index;

    /// <summary>Strategy parameter: the fraction a shading bidder takes off its value.</summary>
    public double Shade { get; init; }
    /// <summary>Budget-pacing multiplier in (0, 1], adapted after every cycle.</summary>
    public double Pace { get; internal set; } = 1.0;
    /// <summary>The hedge strategy's learned weights over shading factors; null for every other strategy.</summary>
    public ShadeLearner? Learner { get; internal set; }
    /// <summary>Chance in [0, 1] that an attempt at a posted task passes its verifier (ADR 0142); the board draws against it.</summary>
    public double Skill { get; internal set; } = DefaultSkill;
    /// <summary>Bundles bid per cycle as alternatives (XOR, ADR 0143): the full bundle and k − 1 smaller ones; 1 bids one.</summary>
    public int Alternatives { get; internal set; } = 1;

    /// <summary>The skill of an agent whose population says none.</summary>
    public const double DefaultSkill = 0.5;

    // Per-cycle scratch, filled by the runner before strategies look at it.
    internal long ValueThisCycle;
    internal long PaidThisCycle;
    internal int LastWinCycle;

    // Running tallies for metrics.
    public int Wins { get; internal set; }
    public int Losses { get; internal set; }
    public int LosingStreak { get; internal set; }
    public int LongestLosingStreak { get; internal set; }
    /// <summary>Sum over won cycles of value minus payment: the agent's realized utility.</summary>
    public long Utility { get; internal set; }
    public long ValueWon { get; internal set; }
    /// <summary>Sum over the cycles it bid of its true value: what utility is measured against across agents.</summary>
    public long ValueBidFor { get; internal set; }
    public long Paid { get; internal set; }
    /// <summary>Task rewards paid to this agent (TaskReward transfers).</summary>
    public long TaskEarnings { get; internal set; }
    /// <summary>Tasks this agent was awarded.</summary>
    public int TasksAwarded { get; internal set; }
    /// <summary>Sum of won bundles, each normalized by the cycle's supply (for Jain's index over resources received).</summary>
    public double ResourcesWon { get; internal set; }
}
