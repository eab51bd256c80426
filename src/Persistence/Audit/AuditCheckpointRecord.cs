using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Audit;

/// <summary>
/// A checkpoint of the <c>system.log</c> hash chain (ADR 0131): the hash of one line as it was when the host recorded it.
/// <c>audit verify</c> compares the log with these, so a log whose tail was cut off or that was rewritten with a new,
/// valid chain no longer passes. Table <c>audit_checkpoints</c>.
/// </summary>
public sealed class AuditCheckpointRecord
{
    /// <summary>Row id, in the order the checkpoints were taken.</summary>
    public long Id { get; set; }
    /// <summary>The log file's name (no folder), e.g. <c>system.log</c> or <c>system_003.log</c>.</summary>
    public required string File { get; set; }
    /// <summary>The line's number in that file, from 1.</summary>
    public long Line { get; set; }
    /// <summary>The byte offset in that file just after the line's newline.</summary>
    public long Offset { get; set; }
    /// <summary>The line's <c>Hash</c> field.</summary>
    public required string Hash { get; set; }
    /// <summary>When the checkpoint was taken.</summary>
    public DateTimeOffset At { get; set; }
}

internal sealed class AuditCheckpointRecordConfiguration : IEntityTypeConfiguration<AuditCheckpointRecord>
{
    public void Configure(EntityTypeBuilder<AuditCheckpointRecord> b)
    {
        b.ToTable("audit_checkpoints");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).ValueGeneratedOnAdd();
        b.Property(x => x.File).HasMaxLength(255);
        b.Property(x => x.Hash).HasMaxLength(64);
    }
}
