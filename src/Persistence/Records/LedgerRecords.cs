using CyAgents.Economy.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// One ledger account (table <c>ledger_accounts</c>). Written only by <see cref="Ledger.EfLedger"/> with conditional
/// SQL updates; read it through <see cref="ILedger"/> (entities loaded through EF are not refreshed by the ledger).
/// Column names are snake_case so the ledger's hand-written SQL runs unquoted on SQLite and PostgreSQL.
/// </summary>
public sealed class LedgerAccountRecord
{
    /// <summary>Account id, e.g. <c>treasury</c>, <c>escrow</c>, <c>agent:&lt;id&gt;</c>.</summary>
    public required string Id { get; set; }
    /// <summary>What the account is for; only the treasury may go negative.</summary>
    public AccountKind Kind { get; set; }
    /// <summary>Credits posted in minus credits posted out.</summary>
    public long Posted { get; set; }
    /// <summary>Credits held by pending transfers out of the account.</summary>
    public long Reserved { get; set; }
    /// <summary>Credits held by pending transfers into the account.</summary>
    public long Incoming { get; set; }
}

/// <summary>
/// One immutable transfer (table <c>ledger_transfers</c>): a posted transfer, a pending one, or the resolution
/// (post or void) of a pending one. Rows are only ever inserted. The key is the sequence; the caller's id is unique,
/// which makes it an idempotency key; the unique <see cref="PendingId"/> makes every pending transfer resolve at most once.
/// </summary>
public sealed class LedgerTransferRecord
{
    /// <summary>The caller's transfer or resolution id.</summary>
    public required string Id { get; set; }
    /// <summary>Position in the ledger's total order (1, 2, ... without gaps).</summary>
    public long Sequence { get; set; }
    /// <summary>Account the credits leave.</summary>
    public required string DebitAccountId { get; set; }
    /// <summary>Account the credits enter.</summary>
    public required string CreditAccountId { get; set; }
    /// <summary>Credits moved or reserved; for a resolution, the reserved amount it releases.</summary>
    public long Amount { get; set; }
    /// <summary>Why the credits move.</summary>
    public TransferKind Kind { get; set; }
    /// <summary>Posted or Pending for a transfer; PendingPosted or PendingVoided for a resolution.</summary>
    public TransferState State { get; set; }
    /// <summary>The cycle, when there is one.</summary>
    public long? Cycle { get; set; }
    /// <summary>Audit text.</summary>
    public string? Memo { get; set; }
    /// <summary>For a resolution: the pending transfer it resolves.</summary>
    public string? PendingId { get; set; }
    /// <summary>For a resolution: the credits it posted (0 for a void).</summary>
    public long? PostedAmount { get; set; }
}

/// <summary>
/// The single-row counter of transfer sequence numbers (table <c>ledger_sequence</c>). Every ledger write first
/// increments it, which also serializes ledger writers on PostgreSQL (the row lock) and gives a gapless order.
/// </summary>
public sealed class LedgerSequenceRecord
{
    /// <summary>Always 1.</summary>
    public int Id { get; set; }
    /// <summary>The last sequence number handed out.</summary>
    public long Value { get; set; }
}

internal sealed class LedgerAccountRecordConfiguration : IEntityTypeConfiguration<LedgerAccountRecord>
{
    public void Configure(EntityTypeBuilder<LedgerAccountRecord> b)
    {
        b.ToTable("ledger_accounts");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasColumnName("id").HasMaxLength(LedgerRules.MaxIdLength);
        b.Property(x => x.Kind).HasColumnName("kind");
        b.Property(x => x.Posted).HasColumnName("posted");
        b.Property(x => x.Reserved).HasColumnName("reserved");
        b.Property(x => x.Incoming).HasColumnName("incoming");
        // The two accounts every ledger has from the start.
        b.HasData(
            new LedgerAccountRecord { Id = AccountIds.Treasury, Kind = AccountKind.Treasury },
            new LedgerAccountRecord { Id = AccountIds.Escrow, Kind = AccountKind.Escrow });
    }
}

internal sealed class LedgerTransferRecordConfiguration : IEntityTypeConfiguration<LedgerTransferRecord>
{
    public void Configure(EntityTypeBuilder<LedgerTransferRecord> b)
    {
        b.ToTable("ledger_transfers");
        // The sequence is the key: on SQLite an INTEGER PRIMARY KEY is the rowid, so rows are stored in ledger
        // order and one index less is written per transfer. The id stays unique (the idempotency key).
        b.HasKey(x => x.Sequence);
        b.Property(x => x.Sequence).ValueGeneratedNever();
        b.HasIndex(x => x.Id).IsUnique().HasDatabaseName("ix_ledger_transfers_id");
        b.Property(x => x.Id).HasColumnName("id").HasMaxLength(LedgerRules.MaxIdLength);
        b.Property(x => x.Sequence).HasColumnName("sequence");
        b.Property(x => x.DebitAccountId).HasColumnName("debit_account_id").HasMaxLength(LedgerRules.MaxIdLength);
        b.Property(x => x.CreditAccountId).HasColumnName("credit_account_id").HasMaxLength(LedgerRules.MaxIdLength);
        b.Property(x => x.Amount).HasColumnName("amount");
        b.Property(x => x.Kind).HasColumnName("kind");
        b.Property(x => x.State).HasColumnName("state");
        b.Property(x => x.Cycle).HasColumnName("cycle");
        b.Property(x => x.Memo).HasColumnName("memo").HasMaxLength(LedgerRules.MaxMemoLength);
        b.Property(x => x.PendingId).HasColumnName("pending_id").HasMaxLength(LedgerRules.MaxIdLength);
        b.Property(x => x.PostedAmount).HasColumnName("posted_amount");
        // Unique: a second resolution of one pending transfer cannot be stored, whatever the code above it does.
        // Filtered, so the many rows that resolve nothing cost no index entry.
        b.HasIndex(x => x.PendingId).IsUnique().HasFilter("pending_id IS NOT NULL").HasDatabaseName("ix_ledger_transfers_pending_id");
        b.HasIndex(x => new { x.DebitAccountId, x.Sequence }).HasDatabaseName("ix_ledger_transfers_debit");
        b.HasIndex(x => new { x.CreditAccountId, x.Sequence }).HasDatabaseName("ix_ledger_transfers_credit");
    }
}

internal sealed class LedgerSequenceRecordConfiguration : IEntityTypeConfiguration<LedgerSequenceRecord>
{
    public void Configure(EntityTypeBuilder<LedgerSequenceRecord> b)
    {
        b.ToTable("ledger_sequence");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasColumnName("id").ValueGeneratedNever();
        b.Property(x => x.Value).HasColumnName("value");
        b.HasData(new LedgerSequenceRecord { Id = 1, Value = 0 });
    }
}
