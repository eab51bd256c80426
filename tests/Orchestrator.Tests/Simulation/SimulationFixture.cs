using CyAgents.Orchestrator.Simulation;
using CyAgents.Orchestrator.Simulation.Scenarios;

namespace CyAgents.Orchestrator.Tests.Simulation;

/// <summary>Runs experiments for tests; every scenario is looked up by its command-line name.</summary>
internal static class Simulate
{
    public static Task<ExperimentResult> RunAsync(string scenario, int agents, int cycles, int seed, params string[] mechanisms)
    {
        var s = ScenarioCatalog.Find(scenario) ?? throw new ArgumentException($"no scenario {scenario}");
        return Experiment.RunAsync(new ExperimentOptions(s, agents, cycles, mechanisms.Length == 0 ? s.DefaultMechanisms : mechanisms, seed));
    }

    public static string TempFolder(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "cyagents-sim-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }
}
