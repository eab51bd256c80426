using System.Globalization;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// One measured outcome of a scenario. <see cref="Holds"/> is set when the scenario has a known answer for
/// this run (true when the observation is inside the expected range), null when it is only informative.
/// </summary>
public sealed record Finding(string Run, string Measure, double Observed, string Expected, bool? Holds);

/// <summary>
/// A named experiment: which populations to draw, how the economy behaves, which mechanisms to compare by
/// default, and how to read its known answer from the runs. Every scenario is read from a scenario file
/// (<see cref="ScenarioFile"/>); the built-in ones are embedded (<see cref="ScenarioCatalog"/>).
/// </summary>
public abstract class Scenario
{
    public abstract string Name { get; }
    /// <summary>One line for --help and the report.</summary>
    public abstract string Summary { get; }
    /// <summary>What theory says should come out, in words.</summary>
    public abstract string KnownAnswer { get; }
    public abstract int DefaultAgents { get; }
    public abstract int DefaultCycles { get; }
    public abstract IReadOnlyList<string> DefaultMechanisms { get; }

    /// <summary>The smallest population the scenario makes sense with.</summary>
    public virtual int MinimumAgents => 2;

    /// <summary>The variants to run, each under every mechanism.</summary>
    public abstract IReadOnlyList<SimulationVariant> Plan(int agents);

    /// <summary>Reads the scenario's outcomes (and checks its known answer) from all runs of one invocation.</summary>
    public abstract IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs);

    /// <summary>Mean of a per-cycle measure over the last quarter of a run (where it has settled).</summary>
    internal static double Settled(RunResult run, Func<CycleMetrics, double> measure)
    {
        var from = run.Cycles.Count - Math.Max(1, run.Cycles.Count / 4);
        return run.Cycles.Skip(from).Average(measure);
    }

    internal static string F(double value, string format = "0.####") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>
    /// Agents built by hand for known-answer instances: identity from Bogus, everything else given.
    /// Each agent is endowed with one cycle's value and earns it again every cycle, so it can always bid it.
    /// </summary>
    internal static IReadOnlyList<SyntheticAgent> HandBuilt(int count, int seed,
        Func<int, (string Group, long Value, ResourceBundle Demand, BiddingStrategy Strategy)> describe)
    {
        var names = new AgentNames(SeedStreams.Derive(seed, "names"));
        var agents = new SyntheticAgent[count];
        for (var i = 0; i < count; i++)
        {
            var (group, value, demand, strategy) = describe(i);
            agents[i] = new SyntheticAgent(i, PopulationGenerator.AgentId(i), names.Next(), group, strategy,
                demand, value, arrivalRate: 0, endowment: value, income: value) { FixedTask = true };
        }
        return agents;
    }
}
