using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// A bid placed for a cycle. Its amount is held by the pending ledger transfer <see cref="EscrowTransferId"/>
/// from the moment it is placed until clearing posts (winner) or voids (loser, cancelled) it.
/// </summary>
public sealed class BidRecord
{
    /// <summary>Bid id; also the clearing tie-break key.</summary>
    public required string Id { get; set; }
    /// <summary>The bidding agent.</summary>
    public required string AgentId { get; set; }
    /// <summary>The cycle the bid is for.</summary>
    public long Cycle { get; set; }
    /// <summary>CPU asked for, millicores.</summary>
    public long CpuMillicores { get; set; }
    /// <summary>Memory asked for, MiB.</summary>
    public long MemoryMiB { get; set; }
    /// <summary>LLM tokens asked for.</summary>
    public long Tokens { get; set; }
    /// <summary>Human attention asked for, basis points.</summary>
    public long AttentionBasisPoints { get; set; }
    /// <summary>Credits offered (escrowed).</summary>
    public long Amount { get; set; }
    /// <summary>Where the bid is in its life.</summary>
    public BidStatus Status { get; set; } = BidStatus.Open;
    /// <summary>What a winner paid; null until settled.</summary>
    public long? Payment { get; set; }
    /// <summary>The pending ledger transfer holding <see cref="Amount"/>.</summary>
    public required string EscrowTransferId { get; set; }
    /// <summary>When it was placed.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The bundle asked for.</summary>
    public ResourceBundle Bundle => ResourceBundle.Create(CpuMillicores, MemoryMiB, Tokens, AttentionBasisPoints);
}

/// <summary>Life of a bid.</summary>
public enum BidStatus
{
    /// <summary>Placed, escrowed, may be cancelled.</summary>
    Open = 0,
    /// <summary>Taken into a clearing; can no longer be cancelled.</summary>
    Frozen = 1,
    /// <summary>Won; escrow posted at the payment, the rest returned.</summary>
    Won = 2,
    /// <summary>Lost; escrow voided.</summary>
    Lost = 3,
    /// <summary>Cancelled by its agent before clearing; escrow voided.</summary>
    Cancelled = 4,
}

internal sealed class BidRecordConfiguration : IEntityTypeConfiguration<BidRecord>
{
    public void Configure(EntityTypeBuilder<BidRecord> b)
    {
        b.ToTable("bids");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.Property(x => x.EscrowTransferId).HasMaxLength(LedgerRules.MaxIdLength);
        b.Ignore(x => x.Bundle);
        b.HasIndex(x => new { x.Cycle, x.Status });
        b.HasIndex(x => x.AgentId);
    }
}
