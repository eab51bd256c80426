namespace CyAgents.SystemApi.Market;

/// <summary>
/// Supply used before any cycle has recorded its market state (configuration <c>Market:Supply:{Cpu,Memory,Tokens,Attention}</c>).
/// Initial prices come from the pricing rule's options (<c>Market:Pricing:Initial*</c>).
/// </summary>
public sealed class MarketDefaultsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Market";

    /// <summary>Units on offer per cycle.</summary>
    public KindValues<long> Supply { get; set; } = new() { Cpu = 4000, Memory = 4096, Tokens = 100_000, Attention = 10_000 };
}

/// <summary>One value per resource kind, as configuration binds it.</summary>
public sealed class KindValues<T> where T : struct
{
    /// <summary>CPU (millicores).</summary>
    public T Cpu { get; set; }
    /// <summary>Memory (MiB).</summary>
    public T Memory { get; set; }
    /// <summary>LLM tokens.</summary>
    public T Tokens { get; set; }
    /// <summary>Human attention (basis points).</summary>
    public T Attention { get; set; }
}
