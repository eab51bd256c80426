namespace CyAgents.Economy.Resources;

/// <summary>
/// A quantity of each resource kind, in integer units (see <see cref="ResourceKind"/>).
/// Used for what a bid asks for, what a winner is granted, and the supply of a cycle.
/// Quantities are never negative: <see cref="Create"/> rejects them, so every bundle that exists is valid.
/// </summary>
public readonly record struct ResourceBundle
{
    /// <summary>CPU in millicores.</summary>
    public long CpuMillicores { get; }
    /// <summary>Memory in MiB.</summary>
    public long MemoryMiB { get; }
    /// <summary>LLM tokens.</summary>
    public long Tokens { get; }
    /// <summary>Human attention in basis points per cycle.</summary>
    public long AttentionBasisPoints { get; }

    private ResourceBundle(long cpu, long memory, long tokens, long attention)
    {
        CpuMillicores = cpu;
        MemoryMiB = memory;
        Tokens = tokens;
        AttentionBasisPoints = attention;
    }

    /// <summary>The empty bundle.</summary>
    public static ResourceBundle Zero => default;

    /// <summary>Creates a bundle; throws <see cref="ArgumentOutOfRangeException"/> naming the first negative quantity.</summary>
    public static ResourceBundle Create(long cpuMillicores = 0, long memoryMiB = 0, long tokens = 0, long attentionBasisPoints = 0)
    {
        Require(cpuMillicores, ResourceKind.Cpu);
        Require(memoryMiB, ResourceKind.Memory);
        Require(tokens, ResourceKind.Tokens);
        Require(attentionBasisPoints, ResourceKind.Attention);
        return new ResourceBundle(cpuMillicores, memoryMiB, tokens, attentionBasisPoints);
    }

    /// <summary>Non-throwing variant of <see cref="Create"/>; <paramref name="error"/> says which quantity is wrong.</summary>
    public static bool TryCreate(long cpuMillicores, long memoryMiB, long tokens, long attentionBasisPoints,
        out ResourceBundle bundle, out string? error)
    {
        foreach (var (value, kind) in new[] { (cpuMillicores, ResourceKind.Cpu), (memoryMiB, ResourceKind.Memory),
                     (tokens, ResourceKind.Tokens), (attentionBasisPoints, ResourceKind.Attention) })
        {
            if (value < 0)
            {
                bundle = default;
                error = $"{kind.WireName()} must not be negative (got {value})";
                return false;
            }
        }
        bundle = new ResourceBundle(cpuMillicores, memoryMiB, tokens, attentionBasisPoints);
        error = null;
        return true;
    }

    private static void Require(long value, ResourceKind kind)
    {
        if (value < 0)
            throw new ArgumentOutOfRangeException(kind.WireName(), value, $"{kind.WireName()} must not be negative");
    }

    /// <summary>The quantity of one kind.</summary>
    public long this[ResourceKind kind] => kind switch
    {
        ResourceKind.Cpu => CpuMillicores,
        ResourceKind.Memory => MemoryMiB,
        ResourceKind.Tokens => Tokens,
        ResourceKind.Attention => AttentionBasisPoints,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>True when every quantity is zero.</summary>
    public bool IsEmpty => CpuMillicores == 0 && MemoryMiB == 0 && Tokens == 0 && AttentionBasisPoints == 0;

    /// <summary>True when this bundle fits inside <paramref name="capacity"/> in every kind.</summary>
    public bool FitsWithin(ResourceBundle capacity) =>
        CpuMillicores <= capacity.CpuMillicores && MemoryMiB <= capacity.MemoryMiB &&
        Tokens <= capacity.Tokens && AttentionBasisPoints <= capacity.AttentionBasisPoints;

    /// <summary>Component-wise sum (checked: overflow throws rather than wrapping).</summary>
    public static ResourceBundle operator +(ResourceBundle a, ResourceBundle b) => new(
        checked(a.CpuMillicores + b.CpuMillicores), checked(a.MemoryMiB + b.MemoryMiB),
        checked(a.Tokens + b.Tokens), checked(a.AttentionBasisPoints + b.AttentionBasisPoints));

    /// <summary>Component-wise difference; throws when any quantity would go negative.</summary>
    public static ResourceBundle operator -(ResourceBundle a, ResourceBundle b) => Create(
        a.CpuMillicores - b.CpuMillicores, a.MemoryMiB - b.MemoryMiB,
        a.Tokens - b.Tokens, a.AttentionBasisPoints - b.AttentionBasisPoints);

    /// <summary>Each quantity multiplied by a whole factor (checked).</summary>
    public ResourceBundle Scale(long factor) => Create(
        checked(CpuMillicores * factor), checked(MemoryMiB * factor),
        checked(Tokens * factor), checked(AttentionBasisPoints * factor));

    /// <inheritdoc />
    public override string ToString() =>
        $"cpu={CpuMillicores}m memory={MemoryMiB}MiB tokens={Tokens} attention={AttentionBasisPoints}bp";
}
