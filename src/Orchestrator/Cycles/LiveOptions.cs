using CyAgents.Economy.Clearing;
using CyAgents.Economy.Market;
using CyAgents.Economy.Resources;

namespace CyAgents.Orchestrator.Cycles;

/// <summary>
/// Settings of live cycles (configuration section <c>Live</c>; the run command's options override them). The pricing rule
/// is the API's too and is bound from <c>Market:Pricing</c>, not from here.
/// </summary>
public sealed record LiveOptions
{
    public const string Section = "Live";

    /// <summary>Clearing mechanism name (see <c>ClearingMechanisms.Names</c>).</summary>
    public string Mechanism { get; init; } = "critical-value";
    /// <summary>How long a winner may run before it is killed.</summary>
    public TimeSpan ExecutionWindow { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Pause between the end of one cycle and the start of the next.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Pricing rule parameters and initial prices.</summary>
    public PricingOptions Pricing { get; init; } = new();
    /// <summary>The Genesis agent created on first start.</summary>
    public GenesisOptions Genesis { get; init; } = new();
    /// <summary>What the host keeps back and what it offers beyond CPU and memory.</summary>
    public CapacityOptions Capacity { get; init; } = new();
    /// <summary>Reserve prices for first-price and critical-value (<c>Live:Reserve</c>); none by default.</summary>
    public ReserveOptions Reserve { get; init; } = new();
    /// <summary>How long prompts wait for the human (<c>Live:Prompts</c>, ADR 0135).</summary>
    public Attention.PromptExpiryOptions Prompts { get; init; } = new();
    /// <summary>When bankrupt, idle agents retire (<c>Live:Retirement</c>, ADR 0136).</summary>
    public Retirement.RetirementOptions Retirement { get; init; } = new();

    /// <summary>
    /// Reference mechanisms that research tools may use but live cycles must not, and why: a live cycle has any number of
    /// bids, and every grant becomes a container's caps.
    /// </summary>
    public static IReadOnlyDictionary<string, string> NotForLiveCycles { get; } = new Dictionary<string, string>
    {
        ["optimal"] = "it solves the exact optimum and refuses more than 40 bids, and a live cycle may have more",
        ["vcg"] = "it solves the exact optimum once per winner and refuses more than 40 bids, and a live cycle may have more",
        ["proportional"] = "it grants scaled bundles, which can fall below the smallest caps a sandbox accepts",
    };

    /// <summary>What is wrong, one message per setting, each starting with its key below <c>Live</c>; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!ClearingMechanisms.TryCreate(Mechanism, out _))
            errors.Add($"Mechanism '{Mechanism}' is not one of {string.Join(", ", ClearingMechanisms.Names)}");
        else if (NotForLiveCycles.TryGetValue(Mechanism.Trim().ToLowerInvariant(), out var why))
            errors.Add($"Mechanism '{Mechanism}' cannot clear live cycles: {why}; use it with simulate, sweep or clear");
        if (ExecutionWindow <= TimeSpan.Zero) errors.Add($"ExecutionWindow must be positive (got {ExecutionWindow})");
        if (Reserve.Mode is not ("none" or "posted" or "fixed"))
            errors.Add($"Reserve:Mode must be none, posted or fixed (got '{Reserve.Mode}')");
        foreach (var (name, value) in new[] { ("Cpu", Reserve.Cpu), ("Memory", Reserve.Memory), ("Tokens", Reserve.Tokens), ("Attention", Reserve.Attention) })
        {
            if (!double.IsFinite(value) || value < 0) errors.Add($"Reserve:{name} must be a finite price of at least 0 (got {value})");
        }
        errors.AddRange(Prompts.Validate());
        errors.AddRange(Retirement.Validate());
        if (Interval < TimeSpan.Zero) errors.Add($"Interval must not be negative (got {Interval})");
        if (string.IsNullOrWhiteSpace(Genesis.AgentId)) errors.Add("Genesis:AgentId must not be empty");
        if (Genesis.Endowment < 1) errors.Add($"Genesis:Endowment must be at least 1 (got {Genesis.Endowment})");
        if (Genesis.FirstBidAmount < 1) errors.Add($"Genesis:FirstBidAmount must be at least 1 (got {Genesis.FirstBidAmount})");
        if (Genesis.FirstBidCpuMillicores < 0) errors.Add($"Genesis:FirstBidCpuMillicores must not be negative (got {Genesis.FirstBidCpuMillicores})");
        if (Genesis.FirstBidMemoryMiB < 0) errors.Add($"Genesis:FirstBidMemoryMiB must not be negative (got {Genesis.FirstBidMemoryMiB})");
        foreach (var (name, value) in new[] { ("ReserveMillicores", Capacity.ReserveMillicores), ("ReserveMemoryMiB", Capacity.ReserveMemoryMiB),
                     ("Tokens", Capacity.Tokens), ("AttentionBasisPoints", Capacity.AttentionBasisPoints) })
        {
            if (value < 0) errors.Add($"Capacity:{name} must not be negative (got {value})");
        }
        return errors;
    }
}

/// <summary>
/// The first agent (its id and endowment from the treasury) and the entry bid every newcomer gets for its first turn:
/// an agent bids only while it runs, so Genesis in cycle 1 and each freshly spawned child start with this bid.
/// </summary>
public sealed record GenesisOptions
{
    /// <summary>Not "genesis": that name is the workspace template's folder, which must stay a pristine template.</summary>
    public string AgentId { get; init; } = "genesis-0";
    public long Endowment { get; init; } = 100_000;
    /// <summary>Credits of the entry bid (capped at the newcomer's balance).</summary>
    public long FirstBidAmount { get; init; } = 100;
    public long FirstBidCpuMillicores { get; init; } = 250;
    public long FirstBidMemoryMiB { get; init; } = 96;

    public ResourceBundle FirstBundle => ResourceBundle.Create(FirstBidCpuMillicores, FirstBidMemoryMiB);
}

/// <summary>
/// Supply per cycle: the engine's CPUs and memory minus a reserve for the host, so clearing never grants more
/// than the machine has; tokens and attention are not measured and come from configuration.
/// </summary>
public sealed record CapacityOptions
{
    public long ReserveMillicores { get; init; } = 500;
    public long ReserveMemoryMiB { get; init; } = 2048;
    public long Tokens { get; init; } = 100_000;
    public long AttentionBasisPoints { get; init; } = 10_000;

    /// <summary>The supply of one cycle from what the engine reports.</summary>
    public ResourceBundle SupplyFrom(int cpus, long memoryBytes) => ResourceBundle.Create(
        Math.Max(0, cpus * 1000L - ReserveMillicores),
        Math.Max(0, memoryBytes / (1024 * 1024) - ReserveMemoryMiB),
        Tokens,
        AttentionBasisPoints);
}

/// <summary>
/// Reserve prices of live cycles (ADR 0123): <c>Mode</c> <c>none</c>, <c>posted</c> (the cycle's posted prices) or
/// <c>fixed</c> (the prices per unit below). A bid below its bundle's reserve cost loses; a critical-value winner pays
/// at least it, so an uncontested host still earns.
/// </summary>
public sealed record ReserveOptions
{
    public string Mode { get; init; } = "none";
    public double Cpu { get; init; }
    public double Memory { get; init; }
    public double Tokens { get; init; }
    public double Attention { get; init; }

    /// <summary>The rule these options describe (call after validation).</summary>
    public ReserveRule Rule => Mode switch
    {
        "posted" => ReserveRule.Posted,
        "fixed" => ReserveRule.Fixed(new MarketPrices(Cpu, Memory, Tokens, Attention)),
        _ => ReserveRule.None,
    };
}
