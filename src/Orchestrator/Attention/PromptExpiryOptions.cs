namespace CyAgents.Orchestrator.Attention;

/// <summary>How long a prompt waits for the human (configuration <c>Live:Prompts</c>, ADR 0135).</summary>
public sealed record PromptExpiryOptions
{
    /// <summary>
    /// Cycles a prompt stays answerable after the cycle it was asked in: one asked in cycle k expires before cycle
    /// k + ExpireAfterCycles + 1 clears. The attention it cost stays spent.
    /// </summary>
    public int ExpireAfterCycles { get; init; } = 10;

    /// <summary>What is wrong, one message per setting, each starting with its key below <c>Live</c>; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (ExpireAfterCycles < 1) yield return $"Prompts:ExpireAfterCycles must be at least 1 (got {ExpireAfterCycles})";
    }
}
