using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// How a scenario's findings are read from its runs, by the name a scenario file gives in <c>evaluation</c>.
/// Known answers are code (a check with a tolerance), so a file picks one of these rather than writing its own.
/// </summary>
public static class ScenarioEvaluations
{
    public const string Overview = "overview";

    private static readonly Dictionary<string, Func<IReadOnlyList<RunResult>, IReadOnlyList<Finding>>> ByName = new(StringComparer.Ordinal)
    {
        [Overview] = MarketScenario.Overview,
        ["boltzmann"] = BoltzmannScenario.Evaluate,
        ["lottery-532"] = Lottery532Scenario.Evaluate,
        ["los-tight"] = LosTightScenario.Evaluate,
        ["demand-shock"] = DemandShockScenario.Evaluate,
        ["sybil"] = SybilScenario.Evaluate,
        ["tasks"] = TasksScenario.Evaluate,
    };

    /// <summary>Every evaluation name, in a stable order.</summary>
    public static IReadOnlyList<string> Names { get; } = [Overview, "boltzmann", "lottery-532", "los-tight", "demand-shock", "sybil", "tasks"];

    public static IReadOnlyList<Finding> Evaluate(string name, IReadOnlyList<RunResult> runs) => ByName[name](runs);
}
