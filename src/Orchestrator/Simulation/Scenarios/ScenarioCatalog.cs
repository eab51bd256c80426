namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>The scenarios by name, as used by <c>simulate --scenario</c>.</summary>
public static class ScenarioCatalog
{
    public static IReadOnlyList<Scenario> All { get; } =
    [
        new MarketScenario(),
        new BoltzmannScenario(),
        new Lottery532Scenario(),
        new LosTightScenario(),
        new DemandShockScenario(),
        new SybilScenario(),
        new ScaleScenario(),
    ];

    public static Scenario? Find(string? name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
}
