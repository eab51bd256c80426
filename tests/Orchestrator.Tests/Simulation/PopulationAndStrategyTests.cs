using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using CyAgents.Orchestrator.Simulation.Strategies;

namespace CyAgents.Orchestrator.Tests.Simulation;

public class PopulationAndStrategyTests
{
    [Fact]
    public void The_same_seed_draws_the_same_population_and_another_seed_a_different_one()
    {
        var a = PopulationGenerator.Generate(new PopulationSpec(), 300, 77);
        var b = PopulationGenerator.Generate(new PopulationSpec(), 300, 77);
        var c = PopulationGenerator.Generate(new PopulationSpec(), 300, 78);

        Describe(b).ShouldBe(Describe(a));
        Describe(c).ShouldNotBe(Describe(a));
        a.Select(x => x.Name).Distinct().Count().ShouldBeGreaterThan(250, "Bogus gives agents varied names");
    }

    [Fact]
    public void Endowments_are_heavy_tailed_and_never_below_the_pareto_scale()
    {
        var spec = new PopulationSpec();
        var agents = PopulationGenerator.Generate(spec, 5000, 1);
        var endowments = agents.Select(a => (double)a.Endowment).Order().ToArray();

        endowments[0].ShouldBeGreaterThanOrEqualTo(spec.Endowment.A - 0.5);
        var median = endowments[endowments.Length / 2];
        median.ShouldBeInRange(spec.Endowment.A * 1.4, spec.Endowment.A * 1.8, "Pareto(1.5) median is 2^(1/1.5) = 1.59 x scale");
        endowments.Average().ShouldBeGreaterThan(median * 1.3, "the tail pulls the mean above the median");
        agents.ShouldAllBe(a => a.Income >= 1 && !a.Demand.IsEmpty && a.ArrivalRate > 0 && a.BaseValue > 0);
    }

    [Fact]
    public void The_strategy_mix_is_apportioned_exactly()
    {
        var agents = PopulationGenerator.Generate(new PopulationSpec(), 1000, 5);

        var counts = agents.GroupBy(a => a.Strategy.Name).ToDictionary(g => g.Key, g => g.Count());
        counts["truthful"].ShouldBe(300);
        counts["shading"].ShouldBe(200);
        counts["random"].ShouldBe(100);
        counts["budget-pacing"].ShouldBe(200);
        counts["zero-intelligence"].ShouldBe(200);
    }

    [Fact]
    public void Strategies_bid_as_their_descriptions_say()
    {
        var agent = new SyntheticAgent(0, "a000000", "Ada Lovelace", "test", BiddingStrategy.Truthful,
            ResourceBundle.Create(cpuMillicores: 500), baseValue: 100, arrivalRate: 1, endowment: 1000, income: 10) { Shade = 0.25 };
        var context = new BidContext(Value: 100, Available: 1000, PostedCost: 10, Uniform: 0.999);

        BiddingStrategy.Truthful.Bid(agent, context).ShouldBe(100);
        BiddingStrategy.Spawner.Bid(agent, context).ShouldBe(100);
        BiddingStrategy.Shading.Bid(agent, context).ShouldBe(75);
        BiddingStrategy.ZeroIntelligence.Bid(agent, context).ShouldBe(100);
        BiddingStrategy.ZeroIntelligence.Bid(agent, context with { Uniform = 0 }).ShouldBe(1);
        BiddingStrategy.Random.Bid(agent, context).ShouldBe(200);
        BiddingStrategy.Random.Bid(agent, context with { Uniform = 0 }).ShouldBe(1);
    }

    [Fact]
    public void Budget_pacing_lowers_its_bids_after_overspending_and_recovers_after_underspending()
    {
        var agent = PopulationGenerator.Generate(new PopulationSpec(), 1, 1)[0];
        var context = new BidContext(100, 1000, 0, 0.5);
        BiddingStrategy.BudgetPacing.Bid(agent, context).ShouldBe(100);

        for (var i = 0; i < 5; i++)
            BiddingStrategy.BudgetPacing.Observe(agent, won: true, payment: agent.Income * 3);
        var paced = BiddingStrategy.BudgetPacing.Bid(agent, context);
        paced.ShouldBeLessThan(100);

        for (var i = 0; i < 30; i++)
            BiddingStrategy.BudgetPacing.Observe(agent, won: false, payment: 0);
        BiddingStrategy.BudgetPacing.Bid(agent, context).ShouldBe(100);
    }

    private static List<string> Describe(IEnumerable<SyntheticAgent> agents) =>
        agents.Select(a => $"{a.Id}|{a.Name}|{a.Strategy.Name}|{a.Endowment}|{a.Income}|{a.Demand}|{a.BaseValue:R}|{a.ArrivalRate:R}").ToList();
}
