using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>The market of one resource kind in one cycle.</summary>
/// <param name="Kind">The resource kind.</param>
/// <param name="Supply">Units on offer.</param>
/// <param name="Demand">Units asked for by all bids, won or lost (the demand signal of the pricing rule).</param>
/// <param name="Allocated">Units granted to winners (never more than <paramref name="Supply"/>).</param>
/// <param name="Price">Price per unit in force during the cycle, in credits.</param>
/// <param name="NextPrice">Price per unit the pricing rule set for the next cycle.</param>
public readonly record struct ResourceMarketState(ResourceKind Kind, long Supply, long Demand, long Allocated, double Price, double NextPrice)
{
    /// <summary>Allocated over supply, in [0, 1]; 0 without supply.</summary>
    public double Utilization => Supply == 0 ? 0 : (double)Allocated / Supply;

    /// <summary>Demand over supply; 0 without supply.</summary>
    public double DemandRatio => Supply == 0 ? 0 : (double)Demand / Supply;
}
