using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Market;

/// <summary>
/// The pricing rule applied after each cycle, per resource kind: multiplicative tatonnement
/// p_target = p · exp(eta · (demand/supply − target)), the step limited to a factor of
/// <see cref="PricingOptions.MaxStepFactor"/>, then smoothed p' = (1 − s)·p + s·p_target and clamped to
/// [<see cref="PricingOptions.Floor"/>, <see cref="PricingOptions.Ceiling"/>]. Multiplicative so that kinds with
/// very different unit prices (a token vs. a basis point of attention) adjust at the same relative speed. Pure.
/// </summary>
public static class TatonnementPricing
{
    /// <summary>The next price of one kind. A kind without supply keeps its price (there is nothing to learn).</summary>
    public static double NextPrice(double price, long supply, long demand, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (supply <= 0)
            return Math.Clamp(price, options.Floor, options.Ceiling);
        var current = Math.Clamp(price, options.Floor, options.Ceiling);
        var excess = (double)demand / supply - options.TargetRatio;
        var step = Math.Clamp(Math.Exp(options.Eta * excess), 1 / options.MaxStepFactor, options.MaxStepFactor);
        var target = current * step;
        var smoothed = (1 - options.Smoothing) * current + options.Smoothing * target;
        return Math.Clamp(smoothed, options.Floor, options.Ceiling);
    }

    /// <summary>The next prices of every kind, given the supply and the demand (all bids, won or not) of a cycle.</summary>
    public static MarketPrices Next(MarketPrices prices, ResourceBundle supply, ResourceBundle demand, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(prices);
        var next = new double[ResourceKinds.Count];
        foreach (var kind in ResourceKinds.All)
            next[(int)kind] = NextPrice(prices[kind], supply[kind], demand[kind], options);
        return new MarketPrices(next[0], next[1], next[2], next[3]);
    }
}
