using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Records;

/// <summary>
/// One call through the LLM gateway that reserved tokens: who asked, which model and provider answered, what the
/// provider reported, what the execution was charged and how it ended. Written in the same transaction as the charge.
/// </summary>
public sealed class LlmCallRecord
{
    /// <summary>Call id (<c>llm-</c> + 32 hex digits); also the <c>x-cyagents-call-id</c> response header.</summary>
    public required string Id { get; set; }
    /// <summary>The execution whose won tokens paid.</summary>
    public required string ExecutionId { get; set; }
    /// <summary>The calling agent.</summary>
    public required string AgentId { get; set; }
    /// <summary>The execution's cycle.</summary>
    public long Cycle { get; set; }
    /// <summary>The model asked for.</summary>
    public required string Model { get; set; }
    /// <summary>The provider that answered (or the last one tried); null when none was reached.</summary>
    public string? Provider { get; set; }
    /// <summary><c>chat</c> or <c>embeddings</c>.</summary>
    public required string Route { get; set; }
    /// <summary>Whether the answer was streamed.</summary>
    public bool Stream { get; set; }
    /// <summary>Prompt tokens the provider reported (0 when it reported none).</summary>
    public long PromptTokens { get; set; }
    /// <summary>Completion tokens the provider reported.</summary>
    public long CompletionTokens { get; set; }
    /// <summary>Bundle tokens reserved before forwarding (the call's upper bound).</summary>
    public long ReservedTokens { get; set; }
    /// <summary>Bundle tokens charged to the execution after the call.</summary>
    public long ChargedTokens { get; set; }
    /// <summary>Provider attempts made (retries and failovers included).</summary>
    public int Attempts { get; set; }
    /// <summary>From the request's arrival to the last byte of the answer, in milliseconds.</summary>
    public long LatencyMs { get; set; }
    /// <summary>How the call ended.</summary>
    public LlmCallOutcome Outcome { get; set; }
    /// <summary>Why it failed, in one line (never a key or a prompt).</summary>
    public string? Error { get; set; }
    /// <summary>When the request arrived.</summary>
    public DateTimeOffset StartedAt { get; set; }
}

/// <summary>How a gateway call ended.</summary>
public enum LlmCallOutcome
{
    /// <summary>Answered (streamed to its end).</summary>
    Succeeded = 0,
    /// <summary>Every provider failed (429, 5xx, timeout, unreachable) or its circuit was open; nothing delivered.</summary>
    ProviderFailed = 1,
    /// <summary>The provider refused the request itself (a 4xx other than 429); passed to the caller.</summary>
    Rejected = 2,
    /// <summary>A stream broke (or the caller left) after it began; charged the reservation unless usage came.</summary>
    StreamBroken = 3,
}

internal sealed class LlmCallRecordConfiguration : IEntityTypeConfiguration<LlmCallRecord>
{
    public void Configure(EntityTypeBuilder<LlmCallRecord> b)
    {
        b.ToTable("llm_calls");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).HasMaxLength(64);
        b.Property(x => x.ExecutionId).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.Property(x => x.Model).HasMaxLength(200);
        b.Property(x => x.Provider).HasMaxLength(100);
        b.Property(x => x.Route).HasMaxLength(20);
        b.Property(x => x.Error).HasMaxLength(500);
        b.HasIndex(x => x.ExecutionId);
        b.HasIndex(x => x.AgentId);
    }
}
