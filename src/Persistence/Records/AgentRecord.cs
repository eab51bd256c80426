using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>An agent: identity and lineage. Its credits live in the ledger account <c>agent:&lt;Id&gt;</c>.</summary>
public sealed class AgentRecord
{
    /// <summary>Stable id (e.g. <c>genesis</c>, or a generated short id).</summary>
    public required string Id { get; set; }
    /// <summary>Human-readable name.</summary>
    public required string Name { get; set; }
    /// <summary>The parent that spawned it; null for a root agent.</summary>
    public string? ParentId { get; set; }
    /// <summary>The root of its lineage (itself for a root agent).</summary>
    public required string RootId { get; set; }
    /// <summary>0 for a root agent, parent's generation + 1 otherwise.</summary>
    public int Generation { get; set; }
    /// <summary>The cycle in which it was created.</summary>
    public long CreatedCycle { get; set; }
    /// <summary>When it was created (host clock, supplied by the caller).</summary>
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Strategy settings as JSON (copied into its workspace), optional.</summary>
    public string? StrategyJson { get; set; }
    /// <summary>
    /// The agent's manifest (agent.json) in canonical form, fixed at creation (ADR 0100): how it runs and its entry bid.
    /// Null for agents made before manifests (schema version 3): they run as the Genesis agent does.
    /// </summary>
    public string? ManifestJson { get; set; }
    /// <summary>Active agents may bid; retired ones may not.</summary>
    public AgentStatus Status { get; set; } = AgentStatus.Active;
}

/// <summary>Life state of an agent.</summary>
public enum AgentStatus
{
    /// <summary>May bid and run.</summary>
    Active = 0,
    /// <summary>No longer bids.</summary>
    Retired = 1,
}

internal sealed class AgentRecordConfiguration : IEntityTypeConfiguration<AgentRecord>
{
    public void Configure(EntityTypeBuilder<AgentRecord> b)
    {
        b.ToTable("agents");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.Name).HasMaxLength(128);
        b.Property(x => x.ParentId).HasMaxLength(64);
        b.Property(x => x.RootId).HasMaxLength(64);
        b.HasIndex(x => x.ParentId);
        b.HasIndex(x => x.RootId);
    }
}
