namespace CyAgents.Orchestrator.Retirement;

/// <summary>When a bankrupt, idle agent retires (configuration <c>Live:Retirement</c>, ADR 0136).</summary>
public sealed record RetirementOptions
{
    /// <summary>
    /// Cycles an agent must have been idle — no bid filed for any of them, no income filed under any of them — while it has
    /// no available credits, before it retires; 0 turns retirement off.
    /// </summary>
    public int IdleCycles { get; init; } = 3;

    /// <summary>Available credits at or below which an agent counts as having none (0: only an empty account).</summary>
    public long DustCredits { get; init; }

    /// <summary>What is wrong, one message per setting, each starting with its key below <c>Live</c>; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (IdleCycles < 0) yield return $"Retirement:IdleCycles must not be negative (got {IdleCycles})";
        if (DustCredits < 0) yield return $"Retirement:DustCredits must not be negative (got {DustCredits})";
    }
}
