using System.Globalization;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Running;

namespace CyAgents.Orchestrator.Simulation.Scenarios;

/// <summary>A scenario read from a scenario file: its plan comes from the file, its findings from a named evaluation.</summary>
internal sealed class FileScenario(
    string name, string summary, string knownAnswer, string evaluation, int defaultAgents, int defaultCycles,
    IReadOnlyList<string> defaultMechanisms, int minimumAgents, PopulationPlan population, IReadOnlyList<VariantPlan> variants)
    : Scenario
{
    public override string Name => name;
    public override string Summary => summary;
    public override string KnownAnswer => knownAnswer;
    public override int DefaultAgents => defaultAgents;
    public override int DefaultCycles => defaultCycles;
    public override IReadOnlyList<string> DefaultMechanisms => defaultMechanisms;
    public override int MinimumAgents => minimumAgents;

    /// <summary>The evaluation that reads this scenario's findings (see <see cref="ScenarioEvaluations"/>).</summary>
    public string Evaluation => evaluation;

    public override IReadOnlyList<SimulationVariant> Plan(int agents) =>
        variants.Select(v =>
        {
            var count = Whole(v.Agents.Evaluate(agents), $"variant {v.Template.Text}: agents", agents, 1, 100_000_000);
            return new SimulationVariant(v.Template.Render(agents), (int)count, Settings(v.Market, (int)count));
        }).ToList();

    public override IReadOnlyList<Finding> Evaluate(IReadOnlyList<RunResult> runs) => ScenarioEvaluations.Evaluate(evaluation, runs);

    private ScenarioSettings Settings(MarketPlan market, int agents)
    {
        var shocks = market.Shocks;
        return new ScenarioSettings
        {
            Populate = Populate,
            MarketOpen = market.Open,
            SupplyRatio = market.SupplyRatio,
            FixedSupply = market.Supply is { } supply ? Bundle(supply, agents, "market.supply") : null,
            InitialPrices = market.InitialPrices,
            Pricing = market.Pricing,
            PricingEnabled = market.PricingEnabled,
            IncomeEnabled = market.Income,
            DemandMultiplier = shocks.Count == 0 ? static (_, _) => 1.0 : (cycle, cycles) =>
            {
                var multiplier = 1.0;
                foreach (var shock in shocks)
                {
                    if (cycle >= shock.From.Evaluate(c: cycles) && cycle <= shock.To.Evaluate(c: cycles))
                        multiplier *= shock.Multiplier;
                }
                return multiplier;
            },
            GiftsPerAgent = market.GiftsPerAgent,
            GiftAmount = market.GiftAmount,
            Spawn = market.Spawn,
            OptimalBidLimit = market.OptimalBidLimit,
            Reserve = market.Reserve,
            Tasks = market.Tasks is { } tasks
                ? new TaskFeed(Whole(tasks.PerCycle.Evaluate(agents), "market.tasks.per_cycle", agents, 0, 1_000_000), tasks.Reward,
                    tasks.DeadlineCycles, tasks.ReviewShare, tasks.ReviewCharacters)
                : null,
            Attention = market.Attention,
        };
    }

    private IReadOnlyList<SyntheticAgent> Populate(int count, int seed)
    {
        if (population.Spec is { } spec)
            return PopulationGenerator.Generate(spec, count, seed);
        var classes = population.Classes!;
        var described = classes.Select(c => (c.Group, c.Strategy,
            Value: Whole(c.Value.Evaluate(count), $"class {c.Group}: value", count, 1, ClearingValidation.MaxAmount),
            Demand: Bundle(c.Demand, count, $"class {c.Group}: demand"))).ToArray();
        var firstOf = new int[classes.Count];
        if (population.Assign == "first")
        {
            long at = 0;
            for (var k = 0; k < classes.Count; k++)
            {
                firstOf[k] = (int)Math.Min(at, count);
                at += classes[k].Count is { } n ? Whole(n.Evaluate(count), $"class {classes[k].Group}: count", count, 0, count) : count;
            }
        }
        int ClassOf(int i) => population.Assign == "first" ? Array.FindLastIndex(firstOf, f => f <= i) : i % classes.Count;
        var agents = HandBuilt(count, seed, i =>
        {
            var k = ClassOf(i);
            return (described[k].Group, described[k].Value, described[k].Demand, described[k].Strategy);
        });
        foreach (var agent in agents)
        {
            agent.Skill = classes[ClassOf(agent.Index)].Skill;
            agent.Alternatives = classes[ClassOf(agent.Index)].Alternatives;
        }
        return agents;
    }

    private ResourceBundle Bundle(ScenarioExpression[] quantities, int n, string what) => ResourceBundle.Create(
        Whole(quantities[0].Evaluate(n), what + ".cpu", n, 0, ClearingValidation.MaxQuantity),
        Whole(quantities[1].Evaluate(n), what + ".memory", n, 0, ClearingValidation.MaxQuantity),
        Whole(quantities[2].Evaluate(n), what + ".tokens", n, 0, ClearingValidation.MaxQuantity),
        Whole(quantities[3].Evaluate(n), what + ".attention", n, 0, ClearingValidation.MaxQuantity));

    private long Whole(double value, string what, int n, long min, long max)
    {
        if (!double.IsFinite(value) || value != Math.Floor(value) || value < min || value > max)
            throw new ScenarioFileException(
                $"scenario {name}: {what} is {value.ToString("0.######", CultureInfo.InvariantCulture)} for n = {n}; it must be a whole number from {min} to {max}");
        return (long)value;
    }
}
