using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// Dragulescu and Yakovenko's money game: equal starting wealth, no income, no market; each cycle agents hand a
/// fixed amount to a random other agent when they can afford it. Money is conserved, so wealth relaxes to the
/// Boltzmann-Gibbs (exponential) distribution, whose Gini coefficient is 1/2.
/// </summary>
public static class BoltzmannScenario
{
    public const long StartingWealth = 100;
    public const long Gift = 5;



    public static IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs) =>
        runs.Select(run =>
        {
            var gini = Scenario.Settled(run, c => c.WealthGini);
            return new Finding(run.Mechanism, "settled wealth Gini (mean of last quarter)", gini, "0.45-0.55", gini is >= 0.45 and <= 0.55);
        }).ToList();
}
