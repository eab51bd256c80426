using CyAgents.Economy.Resources;

namespace CyAgents.Economy.Attention;

/// <summary>
/// What a prompt costs of the human's attention, in basis points of one cycle (the unit of <see cref="ResourceKind.Attention"/>),
/// and whether an execution's won share still covers it (ADR 0135). A prompt costs a fixed part for being read at all plus
/// a part per started thousand characters for reading it; prompts of one execution are summed against the attention its
/// granted bundle holds, and one that would take the sum beyond that share is refused whole.
/// </summary>
/// <param name="PerPrompt">Basis points every prompt costs (at least 1, so no prompt is free).</param>
/// <param name="PerThousandCharacters">Basis points per started thousand characters of the question (0 for none).</param>
public sealed record PromptAttention(long PerPrompt, long PerThousandCharacters)
{
    /// <summary>The defaults: 100 bp (1 % of a cycle's human) per prompt, plus 100 bp per started thousand characters.</summary>
    public static PromptAttention Default { get; } = new(100, 100);

    /// <summary>The attention one question of <paramref name="characters"/> characters costs.</summary>
    public long CostOf(int characters)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(characters);
        var thousands = (characters + 999L) / 1000;
        return checked(PerPrompt + PerThousandCharacters * thousands);
    }

    /// <summary>
    /// Whether a prompt costing <paramref name="cost"/> fits in an execution's <paramref name="share"/> after it has spent
    /// <paramref name="spent"/> on earlier prompts. Integer arithmetic, so the boundary is exact: spending the whole share is allowed.
    /// </summary>
    public static bool Fits(long share, long spent, long cost) => spent >= 0 && cost >= 0 && cost <= share - spent;

    /// <summary>What is wrong with these settings, one message per setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PerPrompt < 1) errors.Add($"AttentionPerPrompt must be at least 1 (got {PerPrompt})");
        if (PerThousandCharacters < 0) errors.Add($"AttentionPerThousandCharacters must not be negative (got {PerThousandCharacters})");
        // A cycle's human is 10,000 bp; a cost above it could never be paid, whatever was won.
        if (PerPrompt > 10_000) errors.Add($"AttentionPerPrompt must be at most 10000 (got {PerPrompt})");
        if (PerThousandCharacters > 10_000) errors.Add($"AttentionPerThousandCharacters must be at most 10000 (got {PerThousandCharacters})");
        return errors;
    }
}
