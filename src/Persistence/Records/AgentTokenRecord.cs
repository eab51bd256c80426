using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// A per-execution bearer token, stored only as its SHA-256 hash. It dies with the execution:
/// the orchestrator revokes it when the execution ends.
/// </summary>
public sealed class AgentTokenRecord
{
    /// <summary>Lower-case hex SHA-256 of the token.</summary>
    public required string TokenHash { get; set; }
    /// <summary>The agent it speaks for.</summary>
    public required string AgentId { get; set; }
    /// <summary>The execution it belongs to.</summary>
    public required string ExecutionId { get; set; }
    /// <summary>The cycle of the execution.</summary>
    public long Cycle { get; set; }
    /// <summary>When it was issued.</summary>
    public DateTimeOffset IssuedAt { get; set; }
    /// <summary>Set when the execution ended; a revoked token is refused.</summary>
    public DateTimeOffset? RevokedAt { get; set; }
}

internal sealed class AgentTokenRecordConfiguration : IEntityTypeConfiguration<AgentTokenRecord>
{
    public void Configure(EntityTypeBuilder<AgentTokenRecord> b)
    {
        b.ToTable("agent_tokens");
        b.HasKey(x => x.TokenHash);
        b.Property(x => x.TokenHash).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.Property(x => x.ExecutionId).HasMaxLength(64);
        b.HasIndex(x => x.ExecutionId);
    }
}
