using System.Reflection;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// The built-in scenarios by name, as used by <c>simulate --scenario</c>: scenario files embedded in the program
/// (src/Orchestrator/Simulation/Scenarios/Files), read once with the same reader as <c>--scenario-file</c>.
/// </summary>
public static class ScenarioCatalog
{
    /// <summary>The embedded files, in the order --help lists them.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["market", "boltzmann", "lottery-532", "los-tight", "demand-shock", "sybil", "scale", "tasks"];

    private static readonly Lazy<IReadOnlyList<Scenario>> Loaded = new(() =>
        BuiltInNames.Select(name => ScenarioFile.Parse(Text(name), name + ".json")).ToList());

    public static IReadOnlyList<Scenario> All => Loaded.Value;

    public static Scenario? Find(string? name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The text of a built-in scenario file (a starting point for a new one); null when there is none.</summary>
    public static string? TextOf(string? name) =>
        BuiltInNames.FirstOrDefault(n => string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase)) is { } known ? Text(known) : null;

    private static string Text(string name)
    {
        var assembly = typeof(ScenarioCatalog).Assembly;
        using var stream = assembly.GetManifestResourceStream("CyAgents.Simulation.Scenarios." + name + ".json")
            ?? throw new InvalidOperationException($"embedded scenario {name}.json is missing from {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
