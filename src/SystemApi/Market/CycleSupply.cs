using CyAgents.Economy.Resources;

namespace CyAgents.SystemApi.Market;

/// <summary>
/// The supply offered per cycle, one instance per host: the live host registers what it measured on the engine (ADR 0044),
/// the standalone API takes <c>Market:Supply:*</c>. The API shows and checks bids against it before any cycle has recorded
/// market state; the live cycle clears against it.
/// </summary>
public sealed class CycleSupply(ResourceBundle perCycle)
{
    /// <summary>Units on offer each cycle.</summary>
    public ResourceBundle PerCycle { get; } = perCycle;

    /// <summary>The configured supply (<c>Market:Supply:*</c>).</summary>
    public static CycleSupply From(MarketDefaultsOptions defaults)
    {
        var s = defaults.Supply;
        return new CycleSupply(ResourceBundle.Create(s.Cpu, s.Memory, s.Tokens, s.Attention));
    }

    /// <inheritdoc />
    public override string ToString() => PerCycle.ToString();
}
