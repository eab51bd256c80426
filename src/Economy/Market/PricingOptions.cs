namespace CyAgents.Economy.Market;

/// <summary>
/// Parameters of the tatonnement pricing rule (<see cref="TatonnementPricing"/>). Bindable from configuration
/// (section <c>Market:Pricing</c> by convention); every default is stated on its property.
/// </summary>
public sealed record PricingOptions
{
    /// <summary>Conventional configuration section name.</summary>
    public const string Section = "Market:Pricing";

    /// <summary>Step size: how strongly excess demand moves the price per cycle. Default 0.3.</summary>
    public double Eta { get; init; } = 0.3;

    /// <summary>
    /// The demand/supply ratio at which the price stands still. Default 1.0: prices rise while bids ask for more
    /// than the supply and fall while they ask for less.
    /// </summary>
    public double TargetRatio { get; init; } = 1.0;

    /// <summary>
    /// Weight of the new price against the old one, in (0, 1]: p' = (1 - s) p + s p_target. Default 0.5;
    /// 1 disables smoothing. Smoothing damps the oscillation a single noisy cycle would cause.
    /// </summary>
    public double Smoothing { get; init; } = 0.5;

    /// <summary>
    /// Largest factor a price may move by in one cycle (up or down), before smoothing. Default 2. Keeps one cycle
    /// with a demand spike from multiplying the price by e^(eta * ratio).
    /// </summary>
    public double MaxStepFactor { get; init; } = 2.0;

    /// <summary>Lowest price per unit, in credits; also lifts a zero price so it can move at all. Default 0.0001.</summary>
    public double Floor { get; init; } = 0.0001;

    /// <summary>Highest price per unit, in credits. Default 10,000.</summary>
    public double Ceiling { get; init; } = 10_000;

    /// <summary>Initial price of a CPU millicore, in credits. Default 0.01 (10 credits per core and cycle).</summary>
    public double InitialCpu { get; init; } = 0.01;

    /// <summary>Initial price of a MiB of memory, in credits. Default 0.005 (about 5 credits per GiB and cycle).</summary>
    public double InitialMemory { get; init; } = 0.005;

    /// <summary>Initial price of an LLM token, in credits. Default 0.001 (1 credit per thousand tokens).</summary>
    public double InitialTokens { get; init; } = 0.001;

    /// <summary>Initial price of a basis point of human attention, in credits. Default 0.01 (100 credits for all of it).</summary>
    public double InitialAttention { get; init; } = 0.01;

    /// <summary>The initial prices as <see cref="MarketPrices"/>.</summary>
    public MarketPrices InitialPrices => new(InitialCpu, InitialMemory, InitialTokens, InitialAttention);

    /// <summary>Problems with the options (empty when usable), for start-up validation.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!double.IsFinite(Eta) || Eta < 0)
            errors.Add($"Eta must be a finite, non-negative number (got {Eta})");
        if (!double.IsFinite(TargetRatio) || TargetRatio <= 0)
            errors.Add($"TargetRatio must be positive (got {TargetRatio})");
        if (!(Smoothing > 0 && Smoothing <= 1))
            errors.Add($"Smoothing must be in (0, 1] (got {Smoothing})");
        if (!double.IsFinite(MaxStepFactor) || MaxStepFactor < 1)
            errors.Add($"MaxStepFactor must be at least 1 (got {MaxStepFactor})");
        if (!double.IsFinite(Floor) || Floor <= 0)
            errors.Add($"Floor must be positive (got {Floor})");
        if (!double.IsFinite(Ceiling) || Ceiling < Floor)
            errors.Add($"Ceiling must be finite and at least Floor (got {Ceiling})");
        foreach (var (name, value) in new[] { ("InitialCpu", InitialCpu), ("InitialMemory", InitialMemory),
                     ("InitialTokens", InitialTokens), ("InitialAttention", InitialAttention) })
        {
            if (!double.IsFinite(value) || value < 0)
                errors.Add($"{name} must be a finite, non-negative price (got {value})");
        }
        return errors;
    }
}
