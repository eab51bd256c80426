using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// The host uid an agent runs as (ADR 0071): assigned once, at its first execution, from the configured range and never
/// reused (agents are never deleted, and the next uid is always above every uid given before), so no two agents — alive or
/// retired — ever share a file owner on the host.
/// </summary>
public sealed class AgentUidRecord
{
    /// <summary>The agent.</summary>
    public required string AgentId { get; set; }
    /// <summary>The uid (and gid) of its containers and the owner of its workspace and contexts.</summary>
    public int Uid { get; set; }
    /// <summary>When it was given (the agent's first execution).</summary>
    public DateTimeOffset AssignedAt { get; set; }
}

internal sealed class AgentUidRecordConfiguration : IEntityTypeConfiguration<AgentUidRecord>
{
    public void Configure(EntityTypeBuilder<AgentUidRecord> b)
    {
        b.ToTable("agent_uids");
        b.HasKey(x => x.AgentId);
        b.Property(x => x.AgentId).HasMaxLength(64);
        // Unique: two processes (or a bug) can never hand one uid to two agents.
        b.HasIndex(x => x.Uid).IsUnique();
    }
}
