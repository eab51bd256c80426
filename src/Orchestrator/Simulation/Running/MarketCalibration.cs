using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Simulation.Population;
using MathNet.Numerics.Distributions;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>The market a population meets: its supply per cycle and the prices it starts from.</summary>
public static class MarketCalibration
{
    /// <summary>The human's whole attention for one cycle.</summary>
    public const long AttentionSupply = 10_000;

    /// <summary>Rounds of the offline pricing rule in <see cref="StartingPrices"/>; enough to settle within a few percent.</summary>
    private const int Rounds = 120;

    /// <summary>Supply per kind: a fraction of the expected demand at zero prices (attention: one human, 10,000 bp).</summary>
    public static ResourceBundle SupplyFor(IReadOnlyList<SyntheticAgent> agents, double ratio)
    {
        var expected = new double[ResourceKinds.Count];
        foreach (var agent in agents)
        {
            foreach (var kind in ResourceKinds.All)
                expected[(int)kind] += agent.ArrivalRate * agent.Demand[kind];
        }
        long Of(ResourceKind kind) => Math.Max(1, (long)Math.Ceiling(ratio * expected[(int)kind]));
        // The largest single request must fit, or that agent could never be served at all.
        long Largest(ResourceKind kind) => agents.Count == 0 ? 1 : agents.Max(a => a.Demand[kind]);
        return ResourceBundle.Create(
            Math.Max(Of(ResourceKind.Cpu), Largest(ResourceKind.Cpu)),
            Math.Max(Of(ResourceKind.Memory), Largest(ResourceKind.Memory)),
            Math.Max(Of(ResourceKind.Tokens), Largest(ResourceKind.Tokens)),
            AttentionSupply);
    }

    /// <summary>
    /// Starting prices near the market's equilibrium, so runs do not spend their first hundred cycles finding it:
    /// the pricing rule is iterated offline on the expected demand (an agent with arrival rate r asks for r bundles
    /// per cycle, of which the share whose lognormal value covers the cost actually bids). Starts from prices that
    /// give every demanded kind an equal share of the value of all tasks.
    /// </summary>
    public static MarketPrices StartingPrices(IReadOnlyList<SyntheticAgent> agents, ResourceBundle supply, PricingOptions pricing,
        double valueNoiseSigma)
    {
        double value = 0;
        var demanded = new bool[ResourceKinds.Count];
        foreach (var agent in agents)
        {
            value += agent.ArrivalRate * agent.BaseValue;
            foreach (var kind in ResourceKinds.All)
                demanded[(int)kind] |= agent.Demand[kind] > 0;
        }
        var kinds = ResourceKinds.All.Where(k => demanded[(int)k] && supply[k] > 0).ToArray();
        if (kinds.Length == 0 || value <= 0)
            return MarketPrices.Zero;
        var price = new double[ResourceKinds.Count];
        foreach (var kind in kinds)
            price[(int)kind] = value / kinds.Length / supply[kind];

        var demand = new double[ResourceKinds.Count];
        for (var round = 0; round < Rounds; round++)
        {
            Array.Clear(demand);
            foreach (var agent in agents)
            {
                if (agent.BaseValue <= 0)
                    continue;
                double cost = 0;
                foreach (var kind in kinds)
                    cost += price[(int)kind] * agent.Demand[kind];
                var bidding = cost <= 0 ? 1.0 : 1 - Normal.CDF(0, valueNoiseSigma, Math.Log(cost / agent.BaseValue));
                foreach (var kind in kinds)
                    demand[(int)kind] += agent.ArrivalRate * bidding * agent.Demand[kind];
            }
            // A shrinking step, so the discrete iteration settles instead of circling the equilibrium.
            var eta = 0.5 / Math.Sqrt(1 + round / 10.0);
            foreach (var kind in kinds)
            {
                var step = Math.Clamp(Math.Exp(eta * (demand[(int)kind] / supply[kind] - pricing.TargetRatio)), 0.5, 2);
                price[(int)kind] = Math.Clamp(price[(int)kind] * step, pricing.Floor, pricing.Ceiling);
            }
        }
        return new MarketPrices(price[0], price[1], price[2], price[3]);
    }
}
