using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>
/// Dragulescu and Yakovenko's money game: equal starting wealth, no income, no market; each cycle agents hand a
/// fixed amount to a random other agent when they can afford it. Money is conserved, so wealth relaxes to the
/// Boltzmann-Gibbs (exponential) distribution, whose Gini coefficient is 1/2.
/// </summary>
public sealed class BoltzmannScenario : Scenario
{
    public const long StartingWealth = 100;
    public const long Gift = 5;

    public override string Name => "boltzmann";
    public override string Summary => "agents pass fixed gifts at random; no market, no income";
    public override string KnownAnswer => "wealth becomes exponentially distributed: Gini settles near 0.5 (0.45-0.55)";
    public override int DefaultAgents => 1000;
    public override int DefaultCycles => 200;
    public override IReadOnlyList<string> DefaultMechanisms => ["critical-value"];

    public override IReadOnlyList<SimulationVariant> Plan(int agents) =>
    [
        new("base", agents, new ScenarioSettings
        {
            Populate = (count, seed) => HandBuilt(count, seed, _ => ("gifting", StartingWealth, ResourceBundle.Zero)),
            MarketOpen = false,
            IncomeEnabled = false,
            PricingEnabled = false,
            FixedSupply = ResourceBundle.Create(1000, 1000, 1000, 1000),
            InitialPrices = Economy.Market.MarketPrices.Zero,
            // Five gifts per agent per cycle: with 20 gifts' worth of starting wealth the distribution relaxes in
            // about (100/5)^2 / 5 = 80 cycles.
            GiftsPerAgent = 5,
            GiftAmount = Gift,
        }),
    ];

    public override IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs) =>
        runs.Select(run =>
        {
            var gini = Settled(run, c => c.WealthGini);
            return new Finding(run.Mechanism, "settled wealth Gini (mean of last quarter)", gini, "0.45-0.55", gini is >= 0.45 and <= 0.55);
        }).ToList();
}
