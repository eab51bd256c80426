namespace CyAgents.Economy.Resources;

/// <summary>
/// The four resources an allocation cycle sells. Each has one integer unit:
/// CPU in millicores, memory in MiB, LLM tokens in tokens, human attention in basis points
/// (1/10,000) of the human's attention for one cycle.
/// </summary>
public enum ResourceKind
{
    /// <summary>CPU, in millicores (1000 = one core for the execution window).</summary>
    Cpu = 0,
    /// <summary>Memory, in MiB.</summary>
    Memory = 1,
    /// <summary>LLM tokens the proxy will meter for the execution.</summary>
    Tokens = 2,
    /// <summary>Human attention, in basis points of the human's attention per cycle.</summary>
    Attention = 3,
}

/// <summary>Helpers over <see cref="ResourceKind"/> that every layer shares.</summary>
public static class ResourceKinds
{
    /// <summary>All kinds, in their stable order (the order used in arrays, CSV columns and JSON).</summary>
    public static readonly IReadOnlyList<ResourceKind> All =
        [ResourceKind.Cpu, ResourceKind.Memory, ResourceKind.Tokens, ResourceKind.Attention];

    /// <summary>Number of resource kinds.</summary>
    public const int Count = 4;

    /// <summary>The lower-case name used on the wire and in files: cpu, memory, tokens, attention.</summary>
    public static string WireName(this ResourceKind kind) => kind switch
    {
        ResourceKind.Cpu => "cpu",
        ResourceKind.Memory => "memory",
        ResourceKind.Tokens => "tokens",
        ResourceKind.Attention => "attention",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown resource kind"),
    };

    /// <summary>The unit a quantity of this kind is counted in.</summary>
    public static string Unit(this ResourceKind kind) => kind switch
    {
        ResourceKind.Cpu => "millicores",
        ResourceKind.Memory => "MiB",
        ResourceKind.Tokens => "tokens",
        ResourceKind.Attention => "basis points",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown resource kind"),
    };

    /// <summary>Parses a wire name (case-insensitive); false when it names no kind.</summary>
    public static bool TryParse(string? name, out ResourceKind kind)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "cpu": kind = ResourceKind.Cpu; return true;
            case "memory": kind = ResourceKind.Memory; return true;
            case "tokens": kind = ResourceKind.Tokens; return true;
            case "attention": kind = ResourceKind.Attention; return true;
            default: kind = default; return false;
        }
    }
}
