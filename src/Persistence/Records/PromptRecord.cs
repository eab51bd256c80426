using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>A question an agent put to the human, and the answer and reward (paid once, from the treasury).</summary>
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
    /// <summary>Credits awarded with the answer.</summary>
    public long Reward { get; set; }
    /// <summary>Pending or answered.</summary>
    public PromptStatus Status { get; set; } = PromptStatus.Pending;
    /// <summary>When it was asked.</summary>
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When it was answered.</summary>
    public DateTimeOffset? AnsweredAt { get; set; }
}

/// <summary>State of a prompt.</summary>
public enum PromptStatus
{
    /// <summary>Waiting for the human.</summary>
    Pending = 0,
    /// <summary>Answered (and rewarded, if the reward is positive).</summary>
    Answered = 1,
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
        b.HasIndex(x => new { x.Status, x.CreatedAt });
        b.HasIndex(x => x.AgentId);
    }
}
