using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// A bid placed for a cycle. Its amount is held by the pending ledger transfer <see cref="EscrowTransferId"/>
/// from the moment it is placed until clearing posts (winner) or voids (loser, cancelled) it.
/// Its status, cycle and payment change only through <see cref="CyAgents.Persistence.Bids.BidBook"/>, which holds the lifecycle's rules.
/// </summary>
public sealed class BidRecord
{
    /// <summary>Bid id; also the clearing tie-break key.</summary>
    public required string Id { get; init; }
    /// <summary>The bidding agent.</summary>
    public required string AgentId { get; init; }
    /// <summary>The cycle the bid is for; freezing files it under the cycle that clears it.</summary>
    public long Cycle { get; internal set; }
    // The bundle's columns (today's names and order): private so the bundle is read and written as one value.
    private long CpuMillicores { get; set; }
    private long MemoryMiB { get; set; }
    private long Tokens { get; set; }
    private long AttentionBasisPoints { get; set; }
    /// <summary>The bundle asked for (stored as four columns, see <see cref="BundleColumns"/>).</summary>
    public ResourceBundle Bundle
    {
        get => ResourceBundle.Create(CpuMillicores, MemoryMiB, Tokens, AttentionBasisPoints);
        init => (CpuMillicores, MemoryMiB, Tokens, AttentionBasisPoints) =
            (value.CpuMillicores, value.MemoryMiB, value.Tokens, value.AttentionBasisPoints);
    }
    /// <summary>Credits offered (escrowed).</summary>
    public long Amount { get; init; }
    /// <summary>Where the bid is in its life; moved only by <see cref="MoveTo"/>, guarded by <see cref="BidLifecycle"/>.</summary>
    public BidStatus Status { get; private set; } = BidStatus.Open;
    /// <summary>What a winner paid; null until settled.</summary>
    public long? Payment { get; private set; }
    /// <summary>The pending ledger transfer holding <see cref="Amount"/>.</summary>
    public required string EscrowTransferId { get; init; }
    /// <summary>When it was placed.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The one way a status changes; an illegal move throws and changes nothing. Only the bid book calls it.</summary>
    internal void MoveTo(BidStatus to, long? payment = null)
    {
        BidLifecycle.Require(Id, Status, to);
        Status = to;
        if (to == BidStatus.Won) Payment = payment;
    }
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
        BundleColumns.Map(b);
        b.HasIndex(x => new { x.Cycle, x.Status });
        b.HasIndex(x => x.AgentId);
    }
}
