using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>One allocation cycle and how far it got; the orchestrator resumes or repairs from this after a crash.</summary>
public sealed class CycleRecord
{
    /// <summary>Cycle number, 1, 2, ...</summary>
    public long Number { get; set; }
    /// <summary>Stage reached.</summary>
    public CycleStatus Status { get; set; } = CycleStatus.Open;
    /// <summary>Clearing mechanism used.</summary>
    public string Mechanism { get; set; } = "";
    /// <summary>Bids taken into the clearing.</summary>
    public int BidCount { get; set; }
    /// <summary>Winning bids.</summary>
    public int WinnerCount { get; set; }
    /// <summary>Sum of winners' bids.</summary>
    public long Welfare { get; set; }
    /// <summary>Sum of payments.</summary>
    public long Revenue { get; set; }
    /// <summary>Whether the conservation check held at the end of the cycle.</summary>
    public bool? InvariantHeld { get; set; }
    /// <summary>When the cycle started.</summary>
    public DateTimeOffset StartedAt { get; set; }
    /// <summary>When it completed.</summary>
    public DateTimeOffset? EndedAt { get; set; }
}

/// <summary>Stages of a cycle, in order.</summary>
public enum CycleStatus
{
    /// <summary>Accepting bids.</summary>
    Open = 0,
    /// <summary>Bids frozen and cleared; settlement under way.</summary>
    Clearing = 1,
    /// <summary>Escrows posted or voided; market state updated.</summary>
    Settled = 2,
    /// <summary>Winners running.</summary>
    Running = 3,
    /// <summary>Done, invariant checked.</summary>
    Completed = 4,
    /// <summary>Interrupted by a crash and repaired at the next start.</summary>
    Interrupted = 5,
}

internal sealed class CycleRecordConfiguration : IEntityTypeConfiguration<CycleRecord>
{
    public void Configure(EntityTypeBuilder<CycleRecord> b)
    {
        b.ToTable("cycles");
        b.HasKey(x => x.Number);
        b.Property(x => x.Number).ValueGeneratedNever();
        b.Property(x => x.Mechanism).HasMaxLength(32);
    }
}
