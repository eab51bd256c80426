using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// A question an agent put to the human, the attention it cost (of its execution's won share, ADR 0135), and the answer and
/// reward (paid once, from the treasury); unanswered, it expires after <c>Live:Prompts:ExpireAfterCycles</c> cycles.
/// </summary>
public sealed class PromptRecord
{
    /// <summary>Prompt id.</summary>
    public required string Id { get; set; }
    /// <summary>The asking agent.</summary>
    public required string AgentId { get; set; }
    /// <summary>The execution during which it was asked.</summary>
    public string? ExecutionId { get; set; }
    /// <summary>The cycle.</summary>
    public long Cycle { get; set; }
    /// <summary>The question (size-limited by the API).</summary>
    public required string Question { get; set; }
    /// <summary>The human's answer.</summary>
    public string? Answer { get; set; }
    /// <summary>Attention it cost, in basis points of one cycle's human: spent when asked, whatever becomes of the prompt.</summary>
    public long Attention { get; set; }
    /// <summary>Credits awarded with the answer.</summary>
    public long Reward { get; set; }
    /// <summary>Pending, answered or expired.</summary>
    public PromptStatus Status { get; set; } = PromptStatus.Pending;
    /// <summary>When it was asked.</summary>
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When it was answered.</summary>
    public DateTimeOffset? AnsweredAt { get; set; }
    /// <summary>The cycle before whose clearing it expired unanswered; null while pending or once answered.</summary>
    public long? ExpiredCycle { get; set; }
}

/// <summary>State of a prompt.</summary>
public enum PromptStatus
{
    /// <summary>Waiting for the human.</summary>
    Pending = 0,
    /// <summary>Answered (and rewarded, if the reward is positive).</summary>
    Answered = 1,
    /// <summary>Not answered in time; it can no longer be answered, and the attention it cost stays spent.</summary>
    Expired = 2,
}

internal sealed class PromptRecordConfiguration : IEntityTypeConfiguration<PromptRecord>
{
    public void Configure(EntityTypeBuilder<PromptRecord> b)
    {
        b.ToTable("prompts");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.Property(x => x.ExecutionId).HasMaxLength(64);
        // A default, so the column could be added to a table with rows (schema version 7): older prompts cost nothing.
        b.Property(x => x.Attention).HasDefaultValue(0L);
        b.HasIndex(x => new { x.Status, x.CreatedAt });
        b.HasIndex(x => x.AgentId);
        // The sum an ask checks its share against: the prompts of one execution.
        b.HasIndex(x => x.ExecutionId);
    }
}
