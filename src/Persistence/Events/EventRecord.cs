using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CyAgents.Persistence.Events;

/// <summary>
/// One entry of the event stream (<c>GET /v1/events</c>, ADR 0111). <see cref="Seq"/> is given by the database and is the
/// SSE event id a client resumes from. Written with the change it reports, in the same transaction, where one exists.
/// </summary>
public sealed class EventRecord
{
    /// <summary>Sequence number, increasing in commit order on SQLite (the database's one writer).</summary>
    public long Seq { get; set; }
    /// <summary>Event type, one of <see cref="EventTypes"/>.</summary>
    public required string Type { get; set; }
    /// <summary>The agent the event is about; null for market-wide events (operator only).</summary>
    public string? AgentId { get; set; }
    /// <summary>The cycle, where one applies.</summary>
    public long? Cycle { get; set; }
    /// <summary>When it was recorded.</summary>
    public DateTimeOffset At { get; set; }
    /// <summary>The event's fields as a JSON object.</summary>
    public required string Data { get; set; }
}

/// <summary>The event types of the stream.</summary>
public static class EventTypes
{
    /// <summary>A cycle froze its bids.</summary>
    public const string CycleStarted = "cycle.started";
    /// <summary>A cycle was cleared and settled.</summary>
    public const string CycleSettled = "cycle.settled";
    /// <summary>A cycle's executions ended and its conservation check ran.</summary>
    public const string CycleCompleted = "cycle.completed";
    /// <summary>A bid was placed (its escrow held).</summary>
    public const string BidPlaced = "bid.placed";
    /// <summary>A bid was settled: won (with its payment) or lost.</summary>
    public const string BidSettled = "bid.settled";
    /// <summary>An execution's container is about to start.</summary>
    public const string ExecutionStarted = "execution.started";
    /// <summary>A line the agent printed while running.</summary>
    public const string ExecutionOutput = "execution.output";
    /// <summary>An execution ended.</summary>
    public const string ExecutionEnded = "execution.ended";
    /// <summary>A child agent was created.</summary>
    public const string AgentSpawned = "agent.spawned";
    /// <summary>An agent retired (bankrupt or idle): it no longer bids or spawns.</summary>
    public const string AgentRetired = "agent.retired";
    /// <summary>A lease's running container was given the next cycle's won bundle in place.</summary>
    public const string ExecutionResized = "execution.resized";
    /// <summary>A lease's container was stopped because its agent lost (SIGTERM, grace period).</summary>
    public const string ExecutionPreempted = "execution.preempted";
    /// <summary>An agent posted a prompt for the human (with the attention it cost).</summary>
    public const string PromptPosted = "prompt.posted";
    /// <summary>The operator answered a prompt.</summary>
    public const string PromptAnswered = "prompt.answered";
    /// <summary>A prompt went unanswered past its expiry.</summary>
    public const string PromptExpired = "prompt.expired";
    /// <summary>A task was posted with its reward escrowed.</summary>
    public const string TaskPosted = "task.posted";
    /// <summary>Work was submitted for a task.</summary>
    public const string TaskSubmitted = "task.submitted";
    /// <summary>A submission was verified: passed or failed.</summary>
    public const string TaskVerified = "task.verified";
    /// <summary>A task's reward was paid to the submitter of verified work.</summary>
    public const string TaskAwarded = "task.awarded";
    /// <summary>A task reached its deadline unawarded; the reward returned to the poster.</summary>
    public const string TaskExpired = "task.expired";
    /// <summary>An LLM gateway call was settled (tokens charged, outcome).</summary>
    public const string LlmCall = "llm.call";
    /// <summary>A ledger transfer was posted (kind, accounts, amount).</summary>
    public const string LedgerTransfer = "ledger.transfer";
}

/// <summary>Adding events to a unit of work.</summary>
public static class EventRecords
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Adds an event to <paramref name="db"/>: it is saved (and committed) with the rest of the unit of work.</summary>
    public static void AddEvent(this DbContext db, string type, string? agentId, long? cycle, DateTimeOffset at, object data) =>
        db.Add(Create(type, agentId, cycle, at, data));

    /// <summary>An event record with <paramref name="data"/> serialized as camelCase JSON.</summary>
    public static EventRecord Create(string type, string? agentId, long? cycle, DateTimeOffset at, object data) => new()
    {
        Type = type, AgentId = agentId, Cycle = cycle, At = at, Data = JsonSerializer.Serialize(data, data.GetType(), Json),
    };
}

internal sealed class EventRecordConfiguration : IEntityTypeConfiguration<EventRecord>
{
    public void Configure(EntityTypeBuilder<EventRecord> b)
    {
        b.ToTable("events");
        b.HasKey(x => x.Seq);
        b.Property(x => x.Seq).ValueGeneratedOnAdd();
        b.Property(x => x.Type).HasMaxLength(64);
        b.Property(x => x.AgentId).HasMaxLength(64);
        b.HasIndex(x => new { x.AgentId, x.Seq });
    }
}
