using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// The first successful response to a POST carrying an <c>Idempotency-Key</c>. Written in the same transaction
/// as the POST's effect, so a replay finds either both or neither; a replay returns <see cref="ResponseJson"/>.
/// </summary>
public sealed class IdempotencyRecord
{
    /// <summary>Who sent it: an agent id, or <c>operator</c>. Keys are scoped per principal.</summary>
    public required string Principal { get; set; }
    /// <summary>The client's key (1–128 printable characters).</summary>
    public required string Key { get; set; }
    /// <summary>Lower-case hex SHA-256 over method, route and request body; a reuse with another request is refused.</summary>
    public required string RequestHash { get; set; }
    /// <summary>HTTP status of the first response.</summary>
    public int StatusCode { get; set; }
    /// <summary>Body of the first response (JSON).</summary>
    public required string ResponseJson { get; set; }
    /// <summary>When it was stored.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class IdempotencyRecordConfiguration : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> b)
    {
        b.ToTable("idempotency_keys");
        b.HasKey(x => new { x.Principal, x.Key });
        b.Property(x => x.Principal).HasMaxLength(64);
        b.Property(x => x.Key).HasMaxLength(128);
        b.Property(x => x.RequestHash).HasMaxLength(64);
    }
}
